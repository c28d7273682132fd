"""Retake docs/img/try-it.png: the Try-it page in smoke mode, after one dialogue is summarized.

    python scripts/screenshot_try_it.py [out.png]

Offline: the tiny random T5 with a LoRA adapter of random B weights (as training would leave it,
so its summaries differ from the zero-shot ones), the shipped sample's first test dialogues as
examples. Drives headless Chromium (``chromium`` on PATH, Debian's package) over the DevTools
protocol with ``websocket-client`` (Jupyter's dependency), since the page must be typed into and
submitted before the screenshot: Chromium's ``--screenshot`` flag only loads a page. The adapter's
weights come from the tests' ``conftest.randomize_lora_b``.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DIALOGUE = (  # our own text, with two characters Flan-T5 cannot encode
    "#Person1#: Did you book the tables for Friday's team dinner?\n"
    "#Person2#: Not yet. The Italian place is full, so I'll try the Thai one. They gave us the "
    "code {TEAM10}.\n"
    "#Person1#: Good idea. There will be twelve of us, and Sam doesn't eat meat.\n"
    "#Person2#: I'll ask for a table for twelve at seven and check their vegetarian menu."
)
PORT, DEBUG_PORT, SIZE = 7861, 9333, (1100, 900)


def serve():
    from transformers import AutoTokenizer, T5ForConditionalGeneration

    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.data import load_dialogsum
    from dialogsum_peft.dialogues import try_it_app
    from dialogsum_peft.methods import apply_method
    from dialogsum_peft.offline import sample_data_dir, tiny_base_dir

    model = T5ForConditionalGeneration.from_pretrained(tiny_base_dir()).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_base_dir())
    config = TrainConfig.smoke()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import randomize_lora_b  # the tests' "as training would leave it"

    peft_model = randomize_lora_b(apply_method(model, config)).eval()
    examples = load_dialogsum(sample_data_dir())["test"]["dialogue"][:3]
    app = try_it_app(peft_model, tokenizer, examples, **config.generation_kwargs())
    app.launch(server_name="127.0.0.1", server_port=PORT, prevent_thread_lock=True)
    return app


class Browser:
    """A headless Chromium page driven over the DevTools protocol."""

    def __init__(self):
        import websocket

        self.process = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--remote-debugging-port={DEBUG_PORT}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            try:
                tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{DEBUG_PORT}/json"))
                break
            except OSError:
                time.sleep(0.2)
        page = next(t for t in tabs if t["type"] == "page")
        self.ws, self.n = websocket.create_connection(page["webSocketDebuggerUrl"]), 0

    def call(self, method: str, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.n:
                return message.get("result", {})

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 60):
        for _ in range(int(seconds / 0.25)):
            if value := self.js(expression):
                return value
            time.sleep(0.25)
        raise TimeoutError(expression)


def main(out: Path):
    app = serve()
    browser = Browser()
    try:
        width, height = SIZE
        browser.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                     deviceScaleFactor=1, mobile=False)  # fmt: skip
        browser.call("Page.navigate", url=f"http://127.0.0.1:{PORT}/")
        browser.wait_for("document.querySelectorAll('textarea').length >= 4")
        browser.js(
            "(() => { const box = document.querySelector('textarea');"
            " Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value')"
            f".set.call(box, {json.dumps(DIALOGUE)});"
            " box.dispatchEvent(new Event('input', {bubbles: true})); })()"
        )
        time.sleep(0.5)
        browser.js("[...document.querySelectorAll('button')]"
                   ".find(b => b.innerText.trim() === 'Summarize').click()")  # fmt: skip
        values = browser.wait_for(
            "(() => { const v = [...document.querySelectorAll('textarea')].map(t => t.value);"
            " return v.slice(1, 4).every(Boolean) && v; })()"
        )
        time.sleep(1)  # let the page settle after the outputs arrive
        png = browser.call("Page.captureScreenshot", format="png")["data"]
        out.write_bytes(base64.b64decode(png))
        print("\n---\n".join(values[1:]))
        print(f"wrote {out}")
    finally:
        browser.process.kill()
        app.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img/try-it.png"))
