/* Pillow's pixel layout: rows of 2 or 3 channels of 8-bit samples widened to
 * the 4 bytes a pixel Pillow stores them in, and narrowed back
 * (pillow_adapter.py).
 *
 * Pillow keeps RGB, YCbCr, HSV and LAB pixels as (c0, c1, c2, 255) and LA and
 * La pixels as (L, L, L, A): what its raw decoder (ImagingUnpackRGB,
 * ImagingUnpackLAB after the sign flip, unpackLA) writes. widen() writes the
 * same bytes from an (H, W, C) array into an (H, W, 4) one, which the adapter
 * then hands to Pillow as the image's memory: no decode, no fresh pages from
 * Pillow's allocator. narrow() takes rows Pillow pasted into a buffer of ours
 * back to (H, W, C), as its raw encoder would. Copies, no arithmetic. The GIL
 * is released around the loops. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PIXELS_WORDS 1
#else
#define PIXELS_WORDS 0
#endif

/* n pixels (c0, c1, c2) -> (c0, c1, c2, 255). */
static void widen_three(const uint8_t *restrict s, uint8_t *restrict d, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if PIXELS_WORDS
    /* two pixels a step, read as one 8-byte word (two bytes past the pair, so
     * only while a third pixel follows on the row) */
    const uint64_t pad = ((uint64_t)0xFF << 24) | ((uint64_t)0xFF << 56);
    for (; i + 3 <= n; i += 2) {
        uint64_t v, o;
        memcpy(&v, s + 3 * i, sizeof v);
        o = (v & 0xFFFFFFu) | ((v << 8) & ((uint64_t)0xFFFFFF << 32)) | pad;
        memcpy(d + 4 * i, &o, sizeof o);
    }
#endif
    for (; i < n; i++) {
        d[4 * i] = s[3 * i];
        d[4 * i + 1] = s[3 * i + 1];
        d[4 * i + 2] = s[3 * i + 2];
        d[4 * i + 3] = 0xFF;
    }
}

/* n pixels (L, A) -> (L, L, L, A). */
static void widen_two(const uint8_t *restrict s, uint8_t *restrict d, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint8_t l = s[2 * i];
        d[4 * i] = l;
        d[4 * i + 1] = l;
        d[4 * i + 2] = l;
        d[4 * i + 3] = s[2 * i + 1];
    }
}

/* n pixels (c0, c1, c2, pad) -> (c0, c1, c2). */
static void narrow_three(const uint8_t *restrict s, uint8_t *restrict d, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if PIXELS_WORDS
    /* two pixels a step, written as one 8-byte word whose last two bytes the
     * next step overwrites (so only while a third pixel follows on the row) */
    for (; i + 3 <= n; i += 2) {
        uint64_t v, o;
        memcpy(&v, s + 4 * i, sizeof v);
        o = (v & 0xFFFFFFu) | ((v >> 8) & ((uint64_t)0xFFFFFF << 24));
        memcpy(d + 3 * i, &o, sizeof o);
    }
#endif
    for (; i < n; i++) {
        d[3 * i] = s[4 * i];
        d[3 * i + 1] = s[4 * i + 1];
        d[3 * i + 2] = s[4 * i + 2];
    }
}

/* n pixels (L, L, L, A) -> (L, A). */
static void narrow_two(const uint8_t *restrict s, uint8_t *restrict d, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        d[2 * i] = s[4 * i];
        d[2 * i + 1] = s[4 * i + 3];
    }
}

/* Parse (src, dst, width, channels, rows, ...) and take the two buffers; the
 * `narrow` side (4 bytes a pixel) is src when narrowing, dst when widening. */
static int take_rows(PyObject *src_obj, PyObject *dst_obj, Py_ssize_t width, Py_ssize_t channels,
                     Py_ssize_t src_rows, Py_ssize_t dst_rows, int widening, Py_buffer *src,
                     Py_buffer *dst)
{
    if (channels != 2 && channels != 3) {
        PyErr_Format(PyExc_ValueError, "channels must be 2 or 3, got %zd", channels);
        return -1;
    }
    if (width < 0 || width > PY_SSIZE_T_MAX / 4 || src_rows < 0 || dst_rows < 0) {
        PyErr_Format(PyExc_ValueError, "need width >= 0 and rows >= 0, got width %zd", width);
        return -1;
    }
    if (PyObject_GetBuffer(src_obj, src, PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (PyObject_GetBuffer(dst_obj, dst, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(src);
        return -1;
    }
    const Py_ssize_t src_row = width * (widening ? channels : 4);
    const Py_ssize_t dst_row = width * (widening ? 4 : channels);
    if ((src_rows > 0 && src->len / src_rows < src_row) ||
        (dst_rows > 0 && dst->len / dst_rows < dst_row)) {
        PyErr_Format(PyExc_ValueError,
                     "src (%zd bytes) or dst (%zd bytes) is too small for %zd / %zd rows of "
                     "%zd pixels",
                     src->len, dst->len, src_rows, dst_rows, width);
        PyBuffer_Release(src);
        PyBuffer_Release(dst);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(narrow_doc,
             "narrow(src, dst, width, channels, rows, dst_row0)\n--\n\n"
             "Write the first `rows` rows of src, C-contiguous rows of `width` 4-byte\n"
             "pixels as Pillow stores them, into rows [dst_row0, dst_row0 + rows) of dst,\n"
             "uint8 rows of `width` pixels of `channels` samples: (c0, c1, c2) for 3\n"
             "channels, (L, A) from (L, L, L, A) for 2.");

static PyObject *narrow(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *src_obj, *dst_obj;
    Py_ssize_t width, channels, rows, dst_row0;
    if (!PyArg_ParseTuple(args, "OOnnnn", &src_obj, &dst_obj, &width, &channels, &rows,
                          &dst_row0))
        return NULL;
    if (rows < 0 || dst_row0 < 0 || dst_row0 > PY_SSIZE_T_MAX - rows) {
        PyErr_Format(PyExc_ValueError, "bad rows %zd from %zd", rows, dst_row0);
        return NULL;
    }
    Py_buffer src, dst;
    if (take_rows(src_obj, dst_obj, width, channels, rows, dst_row0 + rows, 0, &src, &dst) < 0)
        return NULL;
    const uint8_t *s = (const uint8_t *)src.buf;
    uint8_t *d = (uint8_t *)dst.buf;
    const Py_ssize_t src_row = width * 4, dst_row = width * channels;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < rows; y++) {
        if (channels == 3)
            narrow_three(s + y * src_row, d + (dst_row0 + y) * dst_row, width);
        else
            narrow_two(s + y * src_row, d + (dst_row0 + y) * dst_row, width);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(widen_doc,
             "widen(src, dst, width, channels, start, stop)\n--\n\n"
             "Write rows [start, stop) of src, C-contiguous uint8 rows of `width` pixels\n"
             "of `channels` (2 or 3) samples, into the same rows of dst, rows of\n"
             "`width` 4-byte pixels as Pillow stores them: (c0, c1, c2, 255) for 3\n"
             "channels, (L, L, L, A) for 2.");

static PyObject *widen(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *src_obj, *dst_obj;
    Py_ssize_t width, channels, start, stop;
    if (!PyArg_ParseTuple(args, "OOnnnn", &src_obj, &dst_obj, &width, &channels, &start, &stop))
        return NULL;
    if (start < 0 || stop < start) {
        PyErr_Format(PyExc_ValueError, "need 0 <= start <= stop, got rows [%zd, %zd)", start,
                     stop);
        return NULL;
    }
    Py_buffer src, dst;
    if (take_rows(src_obj, dst_obj, width, channels, stop, stop, 1, &src, &dst) < 0) return NULL;
    const Py_ssize_t src_row = width * channels, dst_row = width * 4;
    const uint8_t *s = (const uint8_t *)src.buf;
    uint8_t *d = (uint8_t *)dst.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = start; y < stop; y++) {
        if (channels == 3)
            widen_three(s + y * src_row, d + y * dst_row, width);
        else
            widen_two(s + y * src_row, d + y * dst_row, width);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    Py_RETURN_NONE;
}

static PyMethodDef pixels_methods[] = {
    {"widen", widen, METH_VARARGS, widen_doc},
    {"narrow", narrow, METH_VARARGS, narrow_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot pixels_slots[] = {
    {0, NULL},
};

static struct PyModuleDef pixels_module = {
    PyModuleDef_HEAD_INIT,
    "_native_pixels",
    "Rows widened to Pillow's 4-byte pixels (see pillow_adapter.py).",
    0,
    pixels_methods,
    pixels_slots,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__native_pixels(void) { return PyModuleDef_Init(&pixels_module); }
