// Stands in for `sharp`, which transformers.js loads for image inputs. Attention Explorer only reads text, so the
// image library (and its native binaries) is left out; it must still be a function for transformers.js to load.
module.exports = function sharpUnavailable() {
  throw new Error('Image inputs are not supported by Attention Explorer.');
};
