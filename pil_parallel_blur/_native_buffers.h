/* Buffers of the arguments of an element-wise call (the unsharp combinations
 * of _native.c and _native_box.c): n objects' C-contiguous buffers, the last
 * writable. Include after Python.h. */
#ifndef PPB_NATIVE_BUFFERS_H
#define PPB_NATIVE_BUFFERS_H

/* 0 with every view held, or -1 with the error set and none held. */
static int native_get_buffers(PyObject *const *objs, Py_buffer *views, int n)
{
    for (int i = 0; i < n; i++) {
        const int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (i == n - 1 ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objs[i], &views[i], flags) < 0) {
            while (i-- > 0) PyBuffer_Release(&views[i]);
            return -1;
        }
    }
    return 0;
}

static void native_release_buffers(Py_buffer *views, int n)
{
    for (int i = 0; i < n; i++) PyBuffer_Release(&views[i]);
}

#endif
