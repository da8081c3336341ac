"""Draws the program icon (``kim-desktop.ico`` with 16–256 px, ``kim-desktop.png`` 256 px) with Pillow.

Run once after changing the design; both files are committed:
``uv run python installer/make_icon.py``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
FONT = HERE.parent / "resources" / "fonts" / "DejaVuSans-Bold.ttf"
SIZES = (16, 24, 32, 48, 64, 128, 256)
BLUE = (22, 78, 140, 255)
LIGHT = (120, 180, 230, 255)


def draw(size: int = 1024) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    margin = size // 16
    radius = size // 5
    d.rounded_rectangle((margin, margin, size - margin, size - margin), radius=radius, fill=BLUE)
    # a folder tab (a case file) behind the letters
    d.rounded_rectangle((size * 0.22, size * 0.60, size * 0.78, size * 0.80), radius=size // 30, fill=LIGHT)
    font = ImageFont.truetype(str(FONT), int(size * 0.34))
    text = "KIM"
    left, top, right, bottom = d.textbbox((0, 0), text, font=font)
    x = (size - (right - left)) / 2 - left
    y = size * 0.47 - (bottom - top) / 2 - top
    d.text((x, y), text, font=font, fill=(255, 255, 255, 255))
    return image


def main() -> None:
    big = draw()
    big.resize((256, 256), Image.LANCZOS).save(HERE / "kim-desktop.png", optimize=True)
    big.save(HERE / "kim-desktop.ico", sizes=[(s, s) for s in SIZES])


if __name__ == "__main__":
    main()
