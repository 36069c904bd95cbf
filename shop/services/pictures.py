"""Pictures of categories and products: checked and made ready for Telegram when staff upload them, and
Telegram's id for each kept after its first upload."""

import io
import warnings
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.text import slugify
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from shop.models import Category, Product

PICTURE_MAX_BYTES = 10 * 1024 * 1024  # what staff may upload (Telegram takes photos of up to 10 MB)
PICTURE_MAX_SIDE = 1280  # pixels on the long side after resizing: sharp in Telegram, small to send
PICTURE_MAX_PIXELS = 50_000_000  # larger images are refused before they are decoded (decompression bombs)
PICTURE_MAX_RATIO = 20  # Telegram refuses photos longer than 20 times their width (or the other way)
PICTURE_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
JPEG_QUALITY = 85

# The models whose rows may have a picture, by the name the bot uses for them.
PICTURE_OWNERS = {"category": Category, "product": Product}


def picture_prepare(*, upload) -> ContentFile:
    """An uploaded picture made ready for Telegram: checked to be a JPEG, PNG or WebP image of a sensible
    size, turned upright, resized to at most PICTURE_MAX_SIDE pixels and saved as a JPEG (transparency on
    white, as a Telegram photo has none). Raises ValidationError with a message for staff otherwise."""
    if upload.size > PICTURE_MAX_BYTES:
        raise ValidationError(
            _("The picture is %(size)s; upload one of at most %(limit)s.")
            % {"size": _megabytes(upload.size), "limit": _megabytes(PICTURE_MAX_BYTES)},
            code="too_large",
        )
    image = _opened(upload)
    if image.format == "MPO":  # a phone's JPEG with a preview picture added (MPF): its first picture is the photo
        image.seek(0)
    elif image.format not in PICTURE_FORMATS:
        raise ValidationError(
            _("This is a %(format)s image; upload a JPEG, PNG or WebP picture.") % {"format": image.format}, code="format"
        )
    width, height = image.size
    if width * height > PICTURE_MAX_PIXELS:
        raise ValidationError(
            _("The picture is %(width)d × %(height)d pixels; upload one of at most %(megapixels)d megapixels.")
            % {"width": width, "height": height, "megapixels": PICTURE_MAX_PIXELS // 1_000_000},
            code="too_many_pixels",
        )
    if max(width, height) > PICTURE_MAX_RATIO * min(width, height):
        raise ValidationError(
            _("The picture is %(width)d × %(height)d pixels: too long and narrow for Telegram (at most 20 to 1).")
            % {"width": width, "height": height},
            code="ratio",
        )
    try:
        image.draft("RGB", (PICTURE_MAX_SIDE, PICTURE_MAX_SIDE))  # a JPEG is decoded at a smaller scale
        # Made small before anything is copied: a picture of 50 megapixels is 200 MB decoded, once only.
        image = _flattened(_reduced(image))
        image.thumbnail((PICTURE_MAX_SIDE, PICTURE_MAX_SIDE), Image.Resampling.LANCZOS)
        image = ImageOps.exif_transpose(image)  # after: the long side's limit is the same either way
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _not_an_image() from exc
    output = io.BytesIO()
    image.save(output, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return ContentFile(output.getvalue(), name=f"{slugify(Path(upload.name or '').stem)[:60] or 'picture'}.jpg")


def _opened(upload) -> Image.Image:
    """The upload opened as an image (not decoded yet), or a ValidationError."""
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(upload.read()))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _not_an_image() from exc
    return image


def _transparent(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA") or (image.mode in ("P", "PA") and "transparency" in image.info)


def _reduced(image: Image.Image) -> Image.Image:
    """A large transparent picture laid on white and shrunk by a whole factor (to at least PICTURE_MAX_SIDE;
    the final resize does the rest) a strip at a time, never copied whole: 50 megapixels are 200 MB decoded.
    Others as they are (the final resize shrinks them without a copy)."""
    factor = max(image.size) // PICTURE_MAX_SIDE
    if factor < 2 or not _transparent(image):
        return image
    width, height = image.size
    reduced = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    step = factor * max(1, 2_000_000 // width // factor)  # rows per strip (some 2 megapixels), a multiple of the factor
    for top in range(0, height, step):
        reduced.paste(_flattened(image.crop((0, top, width, min(top + step, height)))).reduce(factor), (0, top // factor))
    reduced.info = dict(image.info)  # its EXIF orientation, still to be applied
    return reduced


def _flattened(image: Image.Image) -> Image.Image:
    """RGB; a transparent picture laid on white."""
    if _transparent(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def _not_an_image() -> ValidationError:
    return ValidationError(_("This file is not a picture (or is damaged); upload a JPEG, PNG or WebP image."), code="invalid")


def _megabytes(size: int) -> str:
    return _("%(mb).1f MB") % {"mb": size / (1024 * 1024)}


def picture_set_file_id(*, owner: str, owner_id: int, picture_name: str, file_id: str) -> None:
    """Remember the id Telegram gave an uploaded picture, so later sends reuse it.

    Only while the row still has that picture and no id: a picture replaced meanwhile keeps its own.
    A plain update (no save signal): the catalog's cached screens stay valid, they load the id when shown.
    """
    model = PICTURE_OWNERS[owner]
    model.objects.filter(pk=owner_id, picture=picture_name, picture_file_id="").update(picture_file_id=file_id[:255])


def picture_forget_file_id(*, owner: str, owner_id: int, file_id: str) -> None:
    """Telegram no longer takes this id (it belongs to another bot): the picture is uploaded again next time."""
    PICTURE_OWNERS[owner].objects.filter(pk=owner_id, picture_file_id=file_id).update(picture_file_id="")
