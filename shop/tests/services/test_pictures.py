"""Pictures staff upload: checked, resized and made a Telegram-ready JPEG; Telegram's id kept once."""

import io
import struct
import subprocess
import sys
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


def test_a_phone_jpeg_with_a_preview_picture_is_taken_as_a_jpeg():
    # Many phone cameras add an MPF preview to their JPEGs; Pillow reports those as "MPO"
    main, preview = Image.new("RGB", (640, 480), (200, 20, 20)), Image.new("RGB", (160, 120), (20, 20, 200))
    data = io.BytesIO()
    main.save(data, "MPO", save_all=True, append_images=[preview])
    assert Image.open(io.BytesIO(data.getvalue())).format == "MPO"

    image = opened(picture_prepare(upload=SimpleUploadedFile("IMG_2041.jpg", data.getvalue())).read())

    assert (image.format, image.size) == ("JPEG", (640, 480))
    assert image.getpixel((10, 10))[0] > 150  # the main picture, not the preview


def test_a_transparent_picture_is_resized_without_dark_edges():
    image = Image.new("RGBA", (4000, 4000), (0, 0, 0, 0))  # transparent pixels stored as black, as editors do
    image.paste((255, 255, 255, 255), (0, 0, 2001, 4000))  # the left half white, the edge between pixels
    output = io.BytesIO()
    image.save(output, "PNG")

    prepared = opened(picture_prepare(upload=SimpleUploadedFile("logo.png", output.getvalue())).read())

    assert prepared.size == (1280, 1280)
    assert min(prepared.getpixel((x, 640))[0] for x in range(1280)) > 240  # all white, no grey seam


PEAK_MEMORY = """
import io, resource, sys
import django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from shop.services.pictures import picture_prepare
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
picture_prepare(upload=SimpleUploadedFile("huge.png", data))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_large_transparent_picture_is_prepared_in_little_more_memory_than_its_pixels(tmp_path):
    size = (7000, 7000)  # 49 megapixels: 196 MB decoded
    path = tmp_path / "huge.png"
    Image.new("RGBA", size, (200, 30, 30, 128)).save(path, "PNG")

    done = subprocess.run([sys.executable, "-c", PEAK_MEMORY, str(path)], capture_output=True, text=True, check=True)

    grown_mb = int(done.stdout.split()[-1]) / 1024  # ru_maxrss: kilobytes on Linux
    assert grown_mb < 1.3 * size[0] * size[1] * 4 / 1e6, f"{grown_mb:.0f} MB"


def test_a_large_transparent_picture_taken_sideways_is_turned_upright():
    image = Image.new("RGBA", (6000, 2000), (0, 0, 255, 255))
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° to view
    output = io.BytesIO()
    image.save(output, "PNG", exif=exif)

    prepared = picture_prepare(upload=SimpleUploadedFile("side.png", output.getvalue()))

    assert opened(prepared.read()).size == (427, 1280)
