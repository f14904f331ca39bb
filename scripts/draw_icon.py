"""Draws Raiten's icon into resources/icons/ (raiten.png for Linux and the window, raiten.ico for
Windows' executable and installer). Drawn, not downloaded, so its licence is ours; run it again
only to change the icon, and commit both files.

The picture: 来 (the "rai" of 来店, a store visit) on a rounded square, its lower right corner
pixelated — the masking Raiten applies to every person it shows.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
FONT = ROOT / "resources" / "fonts" / "ipaexg.ttf"
OUT = ROOT / "resources" / "icons"
SIZE = 1024  # drawn large, scaled down smoothly
BACKGROUND = (20, 92, 110)
INK = (255, 255, 255)
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def draw() -> Image.Image:
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    margin = SIZE // 16
    pen.rounded_rectangle(
        (margin, margin, SIZE - margin, SIZE - margin), radius=SIZE // 5, fill=BACKGROUND
    )
    font = ImageFont.truetype(str(FONT), int(SIZE * 0.66))
    pen.text((SIZE / 2, SIZE / 2), "来", font=font, fill=INK, anchor="mm")
    # Pixelate the lower right quarter of the glyph, as a masked face is.
    box = (SIZE // 2, SIZE // 2, SIZE - 2 * margin, SIZE - 2 * margin)
    block = SIZE // 16
    corner = image.crop(box)
    small = corner.resize((corner.width // block, corner.height // block), Image.Resampling.BOX)
    image.paste(small.resize(corner.size, Image.Resampling.NEAREST), box[:2])
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    icon = draw()
    icon.resize((256, 256), Image.Resampling.LANCZOS).save(OUT / "raiten.png", optimize=True)
    icon.save(OUT / "raiten.ico", sizes=ICO_SIZES)
    print(f"wrote {OUT / 'raiten.png'} and {OUT / 'raiten.ico'}")


if __name__ == "__main__":
    main()
