"""Draw assets/logo.png (the BBWS / KimmyAI wordmark, 2x for retina at 180x48).

Run: python assets/make_logo.py  (needs Pillow; uses DejaVu Sans Bold when present).
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

W, H = 360, 96
VIOLET, WHITE, LAVENDER = (76, 29, 149), (255, 255, 255), (196, 181, 253)


def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
                 "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"):
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def main() -> None:
    img = Image.new("RGB", (W, H), VIOLET)
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((8, 12, 80, 84), radius=16, fill=WHITE)
    d.polygon([(26, 66), (44, 28), (62, 66)], fill=VIOLET)
    d.ellipse((38, 50, 50, 62), fill=LAVENDER)
    d.text((100, 10), "BBWS", font=font(48), fill=WHITE)
    d.text((102, 64), "KimmyAI WordPress Hosting", font=font(14), fill=LAVENDER)
    img.save(Path(__file__).with_name("logo.png"), optimize=True)


if __name__ == "__main__":
    main()
