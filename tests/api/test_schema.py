"""/api/schema/ and /api/docs/ take no parameters of the client's: drf-spectacular put `?version=`
into the schema's Content-Disposition filename (a reflected file download)."""

import pytest

RFD = 'x" ; filename="setup.bat'


def _assert_refused(response, name):
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "Content-Disposition" not in response
    body = response.json()
    assert name in body["message"] and "allowed" in body["extra"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{"version": RFD}, {"lang": "de"}, {"format": "json"}])
def test_schema_refuses_query_parameters(admin_client, query):
    _assert_refused(admin_client.get("/api/schema/", query), next(iter(query)))


@pytest.mark.django_db
def test_schema_filename_is_fixed(admin_client):
    response = admin_client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'inline; filename="labelhub API.yaml"'


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{"version": RFD}, {"lang": RFD}])
def test_docs_refuse_query_parameters_but_serve_their_script(admin_client, query):
    _assert_refused(admin_client.get("/api/docs/", query), next(iter(query)))
    script = admin_client.get("/api/docs/?script")
    assert script.status_code == 200 and "javascript" in script["Content-Type"]
    assert "/api/schema/" in script.content.decode() and "version" not in script.content.decode()
