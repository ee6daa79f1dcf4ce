from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


# Who am I: the user's own fields. The projects app, above accounts, adds the user's projects and roles
# (projects.apis.MeApi extends this one; api/urls.py routes that at /api/v1/me). No docstring: it would
# become the operation's description in the API schema.
class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        display_name = serializers.CharField()
        is_staff = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer, summary="Who am I")
    def get(self, request):
        return Response(self.OutputSerializer(self.me(request.user)).data)

    def me(self, user) -> dict:
        return {"id": user.id, "username": user.username, "display_name": user.display_name, "is_staff": user.is_staff}
