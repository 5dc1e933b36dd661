"""The ward panel's display, drawn for images/: ``python -m tests.panel_pictures images``.

Each picture is what luma.emulator's ``capture`` device writes for one
view and one language, at the display's own size (128×64 OLED, 240×240
LCD); the OLED's are also written 3× larger, pixel for pixel, to be seen.
"""

import os
import sys

from agent.panelview import PanelView
from agent.screen import PanelScreen, ScreenSettings, make_device

LABEL = ("Medicine (Female)", "মেডিসিন (মহিলা)")
VIEWS = {
    # a bed held for a referral, the count checked 40 min ago, everything sent
    "held": PanelView(LABEL, vacant=5, occupied=31, blocked=1, held=2, link="sent",
                      action="held", check_minutes=40),
    # full, a change not yet at the broker, the count due for its check
    "check-due": PanelView(LABEL, vacant=0, occupied=36, blocked=1, held=1,
                           link="unsent", action="taken", check_due=True),
    # a press refused: its reason
    "refused": PanelView(LABEL, vacant=0, occupied=37, blocked=1, link="sent",
                         refusal="no vacant bed to take", check_minutes=12),
}
SIZES = {"oled-128x64": ("1", 128, 64), "lcd-240x240": ("RGB", 240, 240)}


def write(folder):
    """Write every view in both languages and both sizes; return the files written."""
    written = []
    for size_name, (mode, width, height) in SIZES.items():
        template = os.path.join(folder, "panel-%s-{0:06}.png" % size_name)
        settings = ScreenSettings(driver="capture", width=width, height=height,
                                  mode=mode, file=template)
        screen = PanelScreen(make_device(settings), settings)
        for view_name, view in VIEWS.items():
            for language in ("en", "bn"):
                frame = template.format(screen.device._count + 1)  # luma's numbering
                screen.device.display(screen.draw(view, language))
                target = os.path.join(folder, "panel-%s-%s-%s.png" % (
                    size_name, view_name, language))
                os.replace(frame, target)
                written.append(target)
                if mode == "1":
                    from PIL import Image   # pylint: disable=import-outside-toplevel
                    large = target.replace(".png", "-x3.png")
                    Image.open(target).convert("RGB").resize(
                        (width * 3, height * 3), Image.NEAREST).save(large)
                    written.append(large)
    return written


if __name__ == "__main__":
    for path in write(sys.argv[1] if len(sys.argv) > 1 else "images"):
        print(path)
