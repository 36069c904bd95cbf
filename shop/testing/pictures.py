"""Real pictures for tests, made with Pillow."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def picture_bytes(image_format: str = "JPEG", size: tuple[int, int] = (64, 48), *, mode="RGB", color=(200, 30, 30)) -> bytes:
    output = io.BytesIO()
    Image.new(mode, size, color).save(output, image_format)
    return output.getvalue()


def picture_upload(name: str = "photo.jpg", image_format: str = "JPEG", size: tuple[int, int] = (64, 48), **options):
    """A picture as the admin's form receives it."""
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}.get(image_format, "application/octet-stream")
    return SimpleUploadedFile(name, picture_bytes(image_format, size, **options), content_type=content_type)


def opened(data: bytes) -> Image.Image:
    """Bytes read back as an image (to check what was stored)."""
    return Image.open(io.BytesIO(data))
