"""Draw assets/logo.png (the wordmark, 2x for retina at 180x48) from the brand tokens.

Run: python assets/make_logo.py  (needs Pillow; uses DejaVu Sans Bold when present).
Colours and words come from brand.toml (primary: background and mark, on_primary:
the wordmark and tile, link_dark: the accent and tagline), so changing the brand
colour and re-running this re-colours the logo to match the header it sits on. The
build then publishes it under a new content-hashed name (logo.<sha256[:16]>.png).
"""

import tomllib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

W, H = 360, 96
HERE = Path(__file__).resolve().parent
TOKENS = HERE.parent / "brand.toml"


def rgb(value: str) -> tuple[int, int, int]:
    h = value.strip().lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
                 "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"):
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def draw(tokens: dict[str, str]) -> Image.Image:
    """The logo for these tokens (primary, on_primary, link_dark, logo_title, logo_tagline)."""
    back, front, accent = rgb(tokens["primary"]), rgb(tokens["on_primary"]), rgb(
        tokens["link_dark"])
    img = Image.new("RGB", (W, H), back)
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((8, 12, 80, 84), radius=16, fill=front)
    d.polygon([(26, 66), (44, 28), (62, 66)], fill=back)
    d.ellipse((38, 50, 50, 62), fill=accent)
    d.text((100, 10), tokens["logo_title"], font=font(48), fill=front)
    d.text((102, 64), tokens["logo_tagline"], font=font(14), fill=accent)
    return img


def main(tokens_file: Path = TOKENS, out: Path = HERE / "logo.png") -> None:
    tokens = tomllib.loads(tokens_file.read_text(encoding="utf-8"))
    draw(tokens).save(out, optimize=True)


if __name__ == "__main__":
    main()
