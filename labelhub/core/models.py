from django.db import models


class BaseModel(models.Model):
    """Every domain row knows when it was created and last updated."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
