/* Pillow's pixel layout: rows of 2 or 3 channels of 8-bit samples widened to
 * the 4 bytes a pixel Pillow stores them in (pillow_adapter.py).
 *
 * Pillow keeps RGB, YCbCr, HSV and LAB pixels as (c0, c1, c2, 255) and LA and
 * La pixels as (L, L, L, A): what its raw decoder (ImagingUnpackRGB,
 * ImagingUnpackLAB after the sign flip, unpackLA) writes. widen() writes the
 * same bytes from an (H, W, C) array into an (H, W, 4) one, which the adapter
 * then hands to Pillow as the image's memory: no decode, no fresh pages from
 * Pillow's allocator. A copy, no arithmetic. The GIL is released around the
 * loop. */

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
    if (channels != 2 && channels != 3) {
        PyErr_Format(PyExc_ValueError, "channels must be 2 or 3, got %zd", channels);
        return NULL;
    }
    if (width < 0 || start < 0 || stop < start) {
        PyErr_Format(PyExc_ValueError,
                     "need width >= 0 and 0 <= start <= stop, got width %zd, rows [%zd, %zd)",
                     width, start, stop);
        return NULL;
    }
    Py_buffer src, dst;
    if (PyObject_GetBuffer(src_obj, &src, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (PyObject_GetBuffer(dst_obj, &dst, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&src);
        return NULL;
    }
    const Py_ssize_t src_row = width * channels, dst_row = width * 4;
    if ((stop > 0 && (src.len / stop < src_row || dst.len / stop < dst_row)) ||
        (src_row > 0 && stop > PY_SSIZE_T_MAX / dst_row)) {
        PyErr_Format(PyExc_ValueError,
                     "src (%zd bytes) or dst (%zd bytes) is too small for %zd rows of %zd pixels",
                     src.len, dst.len, stop, width);
        PyBuffer_Release(&src);
        PyBuffer_Release(&dst);
        return NULL;
    }
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
