from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from labelhub.projects.selectors import project_list_for_user


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        display_name = serializers.CharField()
        is_staff = serializers.BooleanField()
        projects = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer, summary="Who am I, and my roles")
    def get(self, request):
        user = request.user
        projects = [{"id": p.id, "name": p.name, "role": p.my_role} for p in project_list_for_user(user=user)[:500]]
        return Response(
            self.OutputSerializer(
                {
                    "id": user.id,
                    "username": user.username,
                    "display_name": user.display_name,
                    "is_staff": user.is_staff,
                    "projects": projects,
                }
            ).data
        )
