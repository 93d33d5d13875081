// Copying from the emomo search page: a meme's image (as PNG, what clipboards hold) or its URL, and the
// short notice that says what was copied.

const toastBox = document.getElementById('toast');

export function toast(text) {
  toastBox.textContent = text;
  toastBox.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => toastBox.classList.remove('show'), 1800);
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain http beyond localhost has no clipboard API: the old way still works from a click.
  const area = Object.assign(document.createElement('textarea'), { value: text, readOnly: true });
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

export async function copyUrl(r) {
  try {
    await copyText(r.url);
    toast('URL copied');
  } catch {
    toast(r.url);
  }
}

/** Browsers copy PNG only: other formats (a GIF's first frame) are redrawn as PNG. */
export async function copyImage(r) {
  if (!navigator.clipboard?.write || typeof ClipboardItem === 'undefined' || !window.isSecureContext) {
    await copyUrl(r);
    return;
  }
  try {
    const png = (async () => {
      const blob = await (await fetch(r.url)).blob();
      if (blob.type === 'image/png') return blob;
      const bitmap = await createImageBitmap(blob);
      const canvas = document.createElement('canvas');
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      canvas.getContext('2d').drawImage(bitmap, 0, 0);
      return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    })();
    // The promise form keeps the click's permission while the image is fetched (Safari needs it).
    await navigator.clipboard.write([new ClipboardItem({ 'image/png': png })]);
    toast(r.is_animated ? 'Image copied (first frame: clipboards hold still images)' : 'Image copied');
  } catch {
    await copyUrl(r);
  }
}
