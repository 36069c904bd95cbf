"""Pictures of categories and products, shown to staff in the admin.

Only the pictures folder of the media storage is served, and only to staff: the same storage holds the
products' files, which are paid goods and never served by URL.
"""

import mimetypes

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404

PICTURES_FOLDER = "pictures/"


@staff_member_required
def picture_view(request, path: str):
    if any(part in ("", ".", "..") for part in path.split("/")) or "\\" in path:
        raise Http404  # only names inside the pictures folder
    name = PICTURES_FOLDER + path
    try:
        stored = default_storage.open(name, "rb")
    except (OSError, ValueError, SuspiciousFileOperation) as exc:  # missing, a NUL in the path, or out of the folder
        raise Http404 from exc
    response = FileResponse(stored, content_type=mimetypes.guess_type(name)[0] or "application/octet-stream")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
