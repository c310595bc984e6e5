/* Pillow's pixel layout: rows of 2 or 3 channels of 8-bit samples widened to
 * the 4 bytes a pixel Pillow stores them in, and narrowed back
 * (pillow_adapter.py).
 *
 * Pillow keeps RGB, YCbCr, HSV and LAB pixels as (c0, c1, c2, 255) and LA and
 * La pixels as (L, L, L, A): what its raw decoder (ImagingUnpackRGB,
 * ImagingUnpackLAB after the sign flip, unpackLA) writes. Widening writes the
 * same bytes from an (H, W, C) array into an (H, W, 4) one, which the adapter
 * then hands to Pillow as the image's memory: no decode, no fresh pages from
 * Pillow's allocator. Narrowing takes rows Pillow pasted into a buffer of ours
 * back to (H, W, C), as its raw encoder would. Copies, no arithmetic. The GIL
 * is released around the loops. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "_native_pixel_words.h"

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

/* n pixels (L, L, L, A) -> (L, A). */
static void narrow_two(const uint8_t *restrict s, uint8_t *restrict d, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        d[2 * i] = s[4 * i];
        d[2 * i + 1] = s[4 * i + 3];
    }
}

/* Rows [src_row0, src_row0 + rows) of src into rows [dst_row0, dst_row0 + rows)
 * of dst, widened (3 or 2 channels to 4-byte pixels) or narrowed (back). */
static PyObject *copy_rows(PyObject *args)
{
    PyObject *src_obj, *dst_obj;
    Py_ssize_t width, channels, src_row0, dst_row0, rows;
    int widening;
    if (!PyArg_ParseTuple(args, "OOnnnnnp", &src_obj, &dst_obj, &width, &channels, &src_row0,
                          &dst_row0, &rows, &widening))
        return NULL;
    if (channels != 2 && channels != 3) {
        PyErr_Format(PyExc_ValueError, "channels must be 2 or 3, got %zd", channels);
        return NULL;
    }
    if (width < 0 || width > PY_SSIZE_T_MAX / 4 || rows < 0 || src_row0 < 0 || dst_row0 < 0 ||
        src_row0 > PY_SSIZE_T_MAX - rows || dst_row0 > PY_SSIZE_T_MAX - rows) {
        PyErr_Format(PyExc_ValueError, "bad rows: width %zd, %zd rows from %zd to %zd", width,
                     rows, src_row0, dst_row0);
        return NULL;
    }
    Py_buffer src, dst;
    if (PyObject_GetBuffer(src_obj, &src, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (PyObject_GetBuffer(dst_obj, &dst, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&src);
        return NULL;
    }
    const Py_ssize_t src_row = width * (widening ? channels : 4);
    const Py_ssize_t dst_row = width * (widening ? 4 : channels);
    const Py_ssize_t src_rows = src_row0 + rows, dst_rows = dst_row0 + rows;
    if ((src_rows > 0 && src.len / src_rows < src_row) ||
        (dst_rows > 0 && dst.len / dst_rows < dst_row)) {
        PyErr_Format(PyExc_ValueError,
                     "src (%zd bytes) or dst (%zd bytes) is too small for %zd / %zd rows of "
                     "%zd pixels",
                     src.len, dst.len, src_rows, dst_rows, width);
        PyBuffer_Release(&src);
        PyBuffer_Release(&dst);
        return NULL;
    }
    const uint8_t *s = (const uint8_t *)src.buf + src_row0 * src_row;
    uint8_t *d = (uint8_t *)dst.buf + dst_row0 * dst_row;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < rows; y++, s += src_row, d += dst_row) {
        if (widening)
            (channels == 3 ? widen_three : widen_two)(s, d, width);
        else
            (channels == 3 ? narrow_three : narrow_two)(s, d, width);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(copy_rows_doc,
             "copy_rows(src, dst, width, channels, src_row0, dst_row0, rows, widen)\n--\n\n"
             "Copy `rows` rows of `width` pixels from src (from row src_row0 on) into dst\n"
             "(from row dst_row0 on), both C-contiguous uint8. widen true: src rows hold\n"
             "`channels` (2 or 3) samples a pixel and dst rows 4-byte pixels as Pillow\n"
             "stores them, (c0, c1, c2, 255) for 3 channels and (L, L, L, A) for 2.\n"
             "widen false: the reverse, (c0, c1, c2) or (L, A) from Pillow's pixels.");

static PyObject *copy_rows_method(PyObject *module, PyObject *args)
{
    (void)module;
    return copy_rows(args);
}

static PyMethodDef pixels_methods[] = {
    {"copy_rows", copy_rows_method, METH_VARARGS, copy_rows_doc},
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
