"""Hugging Face Space: a sentence and its speech → 7 emotions and cross-modal attention maps (text-audio-emotion).
The UI lives in avzoo.apps."""

from avzoo.apps.attention_maps import CSS, MAX_FILE_SIZE, build_ui

demo = build_ui()

if __name__ == "__main__":
    demo.launch(css=CSS, show_error=True, max_file_size=MAX_FILE_SIZE)
