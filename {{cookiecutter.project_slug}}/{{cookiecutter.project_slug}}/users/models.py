"""The project's user model (AUTH_USER_MODEL = "users.User").

Django's own User, as a model of this project from the first migration on: fields can be
added to this model later with an ordinary migration, which is impossible once a database holds
auth.User. Refer to it as settings.AUTH_USER_MODEL or get_user_model(), never import it
in reusable code.
"""

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    pass
