// Canvases from the engine's RGBA images ({width, height, rgba}).

/** The image on a new canvas at its own size; shown `height` px tall, or `scale` times as wide (pixelated in CSS). */
export function canvasOf(img, { scale = 1, height, title } = {}) {
  const c = document.createElement('canvas');
  c.width = img.width;
  c.height = img.height;
  c.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(img.rgba), img.width, img.height), 0, 0);
  if (height) c.style.height = `${height}px`;
  else if (scale !== 1) c.style.width = `${img.width * scale}px`;
  if (title) c.title = title;
  return c;
}
