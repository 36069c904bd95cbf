"""Pictures staff upload: checked, resized and made a Telegram-ready JPEG; Telegram's id kept once."""

import io
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shop.models import Category, Product
from shop.services.pictures import PICTURE_MAX_BYTES, picture_prepare, picture_set_file_id
from shop.testing.factories import CategoryFactory, ProductFactory
from shop.testing.pictures import opened, picture_bytes, picture_upload


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_a_small_jpeg_png_or_webp_is_kept_at_its_size_as_a_jpeg(image_format):
    prepared = picture_prepare(upload=picture_upload("My Photo.img", image_format, (64, 48)))

    image = opened(prepared.read())
    assert (image.format, image.size, image.mode) == ("JPEG", (64, 48), "RGB")
    assert prepared.name == "my-photo.jpg"
    assert image.getpixel((10, 10))[0] > 150  # still red


@pytest.mark.parametrize(("size", "resized"), [((4000, 3000), (1280, 960)), ((900, 2400), (480, 1280))])
def test_a_large_picture_is_resized_to_1280_pixels_on_its_long_side(size, resized):
    prepared = picture_prepare(upload=picture_upload("big.png", "PNG", size))

    assert opened(prepared.read()).size == resized


def test_transparency_is_laid_on_white():
    upload = picture_upload("logo.png", "PNG", (32, 32), mode="RGBA", color=(0, 0, 0, 0))

    image = opened(picture_prepare(upload=upload).read())

    assert image.getpixel((16, 16)) == (255, 255, 255)


def test_a_photo_taken_sideways_is_turned_upright():
    image = Image.new("RGB", (60, 20), (0, 0, 255))
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° to view
    output = io.BytesIO()
    image.save(output, "JPEG", exif=exif)

    prepared = picture_prepare(upload=SimpleUploadedFile("side.jpg", output.getvalue()))

    assert opened(prepared.read()).size == (20, 60)


def test_a_file_that_is_not_a_picture_is_refused():
    with pytest.raises(ValidationError, match="not a picture"):
        picture_prepare(upload=SimpleUploadedFile("photo.jpg", b"%PDF-1.4 certainly not a picture"))


def test_a_damaged_picture_is_refused():
    data = picture_bytes("PNG", (200, 200))
    with pytest.raises(ValidationError, match="not a picture"):
        picture_prepare(upload=SimpleUploadedFile("cut.png", data[: len(data) // 2]))


def test_another_image_format_is_refused_by_name():
    with pytest.raises(ValidationError, match=r"This is a GIF image; upload a JPEG, PNG or WebP picture\."):
        picture_prepare(upload=SimpleUploadedFile("anim.gif", picture_bytes("GIF", (10, 10), mode="P", color=1)))


def test_a_file_over_10_mb_is_refused_before_it_is_read():
    upload = SimpleUploadedFile("huge.jpg", b"\xff\xd8" + b"0" * PICTURE_MAX_BYTES)

    with pytest.raises(ValidationError, match=r"The picture is 10\.0 MB; upload one of at most 10\.0 MB\."):
        picture_prepare(upload=upload)


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims to be `width` by `height` (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [8000, 20000])
def test_a_picture_of_too_many_pixels_is_refused_without_decoding_it(side):
    with pytest.raises(ValidationError) as refused:
        picture_prepare(upload=SimpleUploadedFile("bomb.png", _png_header_only(side, side)))

    assert refused.value.code in ("too_many_pixels", "invalid")


def test_a_picture_too_long_and_narrow_for_telegram_is_refused():
    with pytest.raises(ValidationError, match="too long and narrow"):
        picture_prepare(upload=picture_upload("strip.png", "PNG", (2100, 100)))


@pytest.mark.django_db
@pytest.mark.parametrize(("owner", "factory"), [("product", ProductFactory), ("category", CategoryFactory)])
def test_the_file_id_is_kept_only_for_the_picture_it_was_given_for(owner, factory):
    row = factory(picture="pictures/a.jpg")
    model = {"product": Product, "category": Category}[owner]

    picture_set_file_id(owner=owner, owner_id=row.pk, picture_name="pictures/old.jpg", file_id="OLD")
    assert model.objects.get(pk=row.pk).picture_file_id == ""

    picture_set_file_id(owner=owner, owner_id=row.pk, picture_name="pictures/a.jpg", file_id="AAA")
    picture_set_file_id(owner=owner, owner_id=row.pk, picture_name="pictures/a.jpg", file_id="BBB")
    assert model.objects.get(pk=row.pk).picture_file_id == "AAA"
