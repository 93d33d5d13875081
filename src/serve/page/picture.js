// Search by picture on the emomo search page: choose an image file, drop one anywhere on the page,
// or paste one (Ctrl+V / ⌘V). The picture stays beside the text box until its × takes it off; the
// page sends it with the text and the filters (POST /api/recall, multipart). Nothing leaves the page
// but that request: the preview is a blob: URL of the file itself.

/** The first image file a drop or a paste carries, else null. */
function imageIn(transfer) {
  for (const file of transfer?.files ?? []) if (file.type.startsWith('image/')) return file;
  for (const item of transfer?.items ?? []) {
    if (item.kind === 'file' && item.type.startsWith('image/')) return item.getAsFile();
  }
  return null;
}

const carriesFiles = (transfer) => [...(transfer?.types ?? [])].includes('Files');

/**
 * Wires the picture controls: `onChange(file | null)` runs when a picture is chosen, dropped,
 * pasted or taken off; `onRefused(text)` when what was dropped is not an image.
 */
export function setUpPictureSearch({ button, fileInput, preview, previewImage, clear, onChange, onRefused }) {
  let url = null;
  const set = (file) => {
    if (url) URL.revokeObjectURL(url);
    url = file ? URL.createObjectURL(file) : null;
    if (url) previewImage.src = url;
    else previewImage.removeAttribute('src');
    preview.hidden = !file;
    button.setAttribute('aria-pressed', String(!!file));
    onChange(file);
  };

  button.addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    fileInput.value = ''; // choosing the same file again is a new search
    if (file) set(file);
  });
  clear.addEventListener('click', () => set(null));

  // A paste with an image searches by it; a paste of text goes on into the text box as always.
  document.addEventListener('paste', (e) => {
    const file = imageIn(e.clipboardData);
    if (!file) return;
    e.preventDefault();
    set(file);
  });

  document.addEventListener('dragover', (e) => {
    if (!carriesFiles(e.dataTransfer)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    document.body.classList.add('dropping');
  });
  document.addEventListener('dragleave', (e) => {
    if (e.relatedTarget === null) document.body.classList.remove('dropping');
  });
  document.addEventListener('drop', (e) => {
    document.body.classList.remove('dropping');
    if (!carriesFiles(e.dataTransfer)) return;
    e.preventDefault(); // never let the browser open the dropped file instead
    const file = imageIn(e.dataTransfer);
    if (file) set(file);
    else onRefused('That is not an image: drop a PNG, JPEG, GIF or WebP.');
  });

  return { clear: () => set(null) };
}
