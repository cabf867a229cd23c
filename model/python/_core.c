/* _core.c -- mmusim._core, the CPython extension under the mmusim Python
 * package (model/python/mmusim): the library's trace reader, configuration
 * and replay, through its public API only.
 *
 * Reader decodes a trace straight into numpy arrays the caller allocated
 * (one call per frame, the GIL released while it decodes), so the Python
 * side decides the layout and nothing is copied twice.  run() replays one
 * workload on k configurations in one decode pass (replay_run_multi) and
 * returns each machine's counters.  Everything else -- columns, frames,
 * DataFrames, sweeps -- is the pure-Python package's.
 *
 * Errors carry the library's one line ("FILE: offset N: problem",
 * "FILE:LINE: KEY: problem"): OSError with the errno when a named file
 * cannot be read at all, ValueError for everything else the input gets
 * wrong. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mmusim/mmusim.h>

/* Library messages: a path of PATH_MAX and the problem (as the CLI's). */
#define ERR_LEN 4608

/* ---- errors --------------------------------------------------------- */

/* Raise the library's message `msg`.  When `path` names a file that cannot
 * be read (missing, a directory, no permission), OSError with that errno
 * (Python picks FileNotFoundError etc.), strerror = msg; else ValueError. */
static PyObject *lib_error(const char *msg, const char *path)
{
    PyObject *text = PyUnicode_DecodeFSDefault(msg);
    if (!text)
        return NULL;
    int e = 0;
    struct stat sb;
    if (path && strcmp(path, "-") != 0) {
        if (stat(path, &sb) != 0)
            e = errno;
        else if (S_ISDIR(sb.st_mode))
            e = EISDIR;
        else if (access(path, R_OK) != 0)
            e = errno;
    }
    if (e) {
        PyObject *args = Py_BuildValue("(iO)", e, text);
        if (args) {
            PyErr_SetObject(PyExc_OSError, args);
            Py_DECREF(args);
        }
    } else {
        PyErr_SetObject(PyExc_ValueError, text);
    }
    Py_DECREF(text);
    return NULL;
}

/* ---- Reader ----------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    trace_reader *r;
    PyObject *path;   /* bytes, as given (file-system encoding) */
    bool busy;        /* a call is decoding with the GIL released */
} Reader;

/* The numpy type names of get_columns' messages. */
static const char *type_name(int type)
{
    switch (type) {
    case NPY_BOOL: return "bool";
    case NPY_UINT8: return "uint8";
    case NPY_UINT16: return "uint16";
    case NPY_UINT32: return "uint32";
    case NPY_INT64: return "int64";
    default: return "uint64";
    }
}

/* A table of columns the caller allocated: `n` arrays of the given types
 * (the order of the trace.py *_DTYPES dicts), each one-dimensional,
 * C-contiguous, writeable and of one length; their data pointers go to
 * base[], the common length to *len.  0, or -1 with TypeError/ValueError
 * set. */
static int get_columns(PyObject *tuple, const char *table, const char *const *names, const int *types, int n,
                       char **base, npy_intp *len)
{
    if (!PyTuple_Check(tuple) || PyTuple_GET_SIZE(tuple) != n) {
        PyErr_Format(PyExc_TypeError, "%s: expected a tuple of %d arrays", table, n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        PyObject *o = PyTuple_GET_ITEM(tuple, i);
        if (!PyArray_Check(o)) {
            PyErr_Format(PyExc_TypeError, "%s column %s: not a numpy array", table, names[i]);
            return -1;
        }
        PyArrayObject *a = (PyArrayObject *)o;
        if (PyArray_NDIM(a) != 1 || PyArray_TYPE(a) != types[i] || !PyArray_IS_C_CONTIGUOUS(a) ||
            !PyArray_ISWRITEABLE(a)) {
            PyErr_Format(PyExc_ValueError, "%s column %s: expected a writeable contiguous 1-d array of %s", table,
                         names[i], type_name(types[i]));
            return -1;
        }
        if (i == 0)
            *len = PyArray_DIM(a, 0);
        else if (PyArray_DIM(a, 0) != *len) {
            PyErr_Format(PyExc_ValueError, "%s column %s: length %zd, column %s: %zd", table, names[i],
                         (Py_ssize_t)PyArray_DIM(a, 0), names[0], (Py_ssize_t)*len);
            return -1;
        }
        base[i] = PyArray_BYTES(a);
    }
    return 0;
}

static int reader_ready(Reader *self)
{
    if (!self->r) {
        PyErr_SetString(PyExc_ValueError, "the trace reader is closed");
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "the trace reader is in use by another thread");
        return -1;
    }
    return 0;
}

static int Reader_init(Reader *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", NULL};
    PyObject *path = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&", kwlist, PyUnicode_FSConverter, &path))
        return -1;
    if (self->busy) {
        Py_DECREF(path);
        PyErr_SetString(PyExc_RuntimeError, "the trace reader is in use by another thread");
        return -1;
    }
    if (self->r) {
        trace_reader_close(self->r);
        self->r = NULL;
    }
    Py_XSETREF(self->path, path);
    char err[ERR_LEN];
    const char *p = PyBytes_AS_STRING(path);
    trace_reader *r;
    Py_BEGIN_ALLOW_THREADS
    r = trace_reader_open(p, err, sizeof err);
    Py_END_ALLOW_THREADS
    if (!r) {
        lib_error(err, p);
        return -1;
    }
    self->r = r;
    return 0;
}

static void Reader_dealloc(Reader *self)
{
    trace_reader_close(self->r);
    Py_XDECREF(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Reader_close(Reader *self, PyObject *unused)
{
    (void)unused;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "the trace reader is in use by another thread");
        return NULL;
    }
    trace_reader_close(self->r);
    self->r = NULL;
    Py_RETURN_NONE;
}

/* The header's and footer's metadata.  Counts are the footer's: known at
 * open for a file with a seek index, else 0 until the end is read. */
static PyObject *Reader_meta(Reader *self, void *closure)
{
    (void)closure;
    if (reader_ready(self))
        return NULL;
    const trace_meta *m = trace_reader_meta(self->r);
    return Py_BuildValue("{s:s,s:s,s:s,s:K,s:K,s:K,s:K,s:(II),s:n}", "source", m->source, "command", m->command,
                         "recorder", m->recorder, "records", (unsigned long long)m->records, "accesses",
                         (unsigned long long)m->accesses, "instructions", (unsigned long long)m->instructions,
                         "events", (unsigned long long)m->events, "version", m->version_major, m->version_minor,
                         "frames", (Py_ssize_t)trace_frames(self->r));
}

/* The first record index of every frame, as a uint64 array (empty for a
 * file read without a seek index). */
static PyObject *Reader_frame_firsts(Reader *self, PyObject *unused)
{
    (void)unused;
    if (reader_ready(self))
        return NULL;
    npy_intp n = (npy_intp)trace_frames(self->r);
    PyArrayObject *a = (PyArrayObject *)PyArray_SimpleNew(1, &n, NPY_UINT64);
    if (!a)
        return NULL;
    uint64_t *v = PyArray_DATA(a);
    for (npy_intp i = 0; i < n; i++)
        v[i] = trace_frame_first(self->r, (size_t)i);
    return (PyObject *)a;
}

static PyObject *Reader_seek(Reader *self, PyObject *arg)
{
    if (reader_ready(self))
        return NULL;
    unsigned long long index = PyLong_AsUnsignedLongLong(arg);
    if (index == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = trace_seek(self->r, index);
    Py_END_ALLOW_THREADS
    if (rc)
        return lib_error(trace_reader_error(self->r), NULL);
    Py_RETURN_NONE;
}

/* The tables read_records fills, in the column order of trace.py's
 * RECORD_DTYPES, INSTR_DTYPES and EVENT_DTYPES. */
static const char *const rec_names[] = {"kind", "cpu", "acc", "priv", "size", "va"};
static const int rec_types[] = {NPY_UINT8, NPY_UINT8, NPY_UINT8, NPY_UINT8, NPY_UINT16, NPY_UINT64};
enum { RC_KIND, RC_CPU, RC_ACC, RC_PRIV, RC_SIZE, RC_VA, RC_NCOLS };

static const char *const in_names[] = {"index", "cpu", "count"};
static const int in_types[] = {NPY_INT64, NPY_UINT8, NPY_UINT64};
enum { IN_INDEX, IN_CPU, IN_COUNT, IN_NCOLS };

static const char *const ev_names[] = {"index", "kind", "cpu", "pid", "child", "addr", "len",
                                       "prot", "flags", "file_id", "offset", "value", "noflush"};
static const int ev_types[] = {NPY_INT64, NPY_UINT8, NPY_UINT8, NPY_UINT32, NPY_UINT32, NPY_UINT64, NPY_UINT64,
                               NPY_UINT32, NPY_UINT32, NPY_UINT32, NPY_UINT64, NPY_UINT64, NPY_BOOL};
enum {
    EV_INDEX, EV_KIND, EV_CPU, EV_PID, EV_CHILD, EV_ADDR, EV_LEN,
    EV_PROT, EV_FLAGS, EV_FILE_ID, EV_OFFSET, EV_VALUE, EV_NOFLUSH, EV_NCOLS
};

/* read_records(records, instr, events, offset, max_records)
 *   -> (records read, instruction counts, events)
 * Decodes up to max_records records into the record arrays from position
 * offset: every record's kind and cpu, an access's acc, priv, size and va
 * (zero for other kinds).  The instruction counts among them also go to
 * the instr arrays, the OS events to the event arrays, both from their
 * start, with their position in the record arrays as "index".  Those
 * arrays must hold max_records (what they need at most), so the caller
 * allocates them and decoding writes every value once, in place.  Fewer
 * records than max_records means the trace ended cleanly. */
static PyObject *Reader_read_records(Reader *self, PyObject *args)
{
    PyObject *rcols, *icols, *ecols;
    Py_ssize_t offset, max;
    if (!PyArg_ParseTuple(args, "O!O!O!nn", &PyTuple_Type, &rcols, &PyTuple_Type, &icols, &PyTuple_Type, &ecols,
                          &offset, &max) ||
        reader_ready(self))
        return NULL;
    char *rb[RC_NCOLS], *ib[IN_NCOLS], *eb[EV_NCOLS];
    npy_intp rlen, ilen, elen;
    if (get_columns(rcols, "record", rec_names, rec_types, RC_NCOLS, rb, &rlen) ||
        get_columns(icols, "instr", in_names, in_types, IN_NCOLS, ib, &ilen) ||
        get_columns(ecols, "event", ev_names, ev_types, EV_NCOLS, eb, &elen))
        return NULL;
    if (offset < 0 || max < 0 || offset > rlen || max > rlen - offset || max > ilen || max > elen) {
        PyErr_Format(PyExc_ValueError,
                     "%zd records from %zd do not fit: %zd record, %zd instr and %zd event rows", max, offset,
                     (Py_ssize_t)rlen, (Py_ssize_t)ilen, (Py_ssize_t)elen);
        return NULL;
    }
    uint8_t *kind = (uint8_t *)rb[RC_KIND], *cpu = (uint8_t *)rb[RC_CPU];
    uint8_t *acc = (uint8_t *)rb[RC_ACC], *priv = (uint8_t *)rb[RC_PRIV];
    uint16_t *size = (uint16_t *)rb[RC_SIZE];
    uint64_t *va = (uint64_t *)rb[RC_VA];
    int64_t *in_index = (int64_t *)ib[IN_INDEX];
    uint8_t *in_cpu = (uint8_t *)ib[IN_CPU];
    uint64_t *in_count = (uint64_t *)ib[IN_COUNT];
    Py_ssize_t i = offset, end = offset + max, ni = 0, ne = 0;
    int rc = 1;
    self->busy = true;
    Py_BEGIN_ALLOW_THREADS
    trace_rec r;
    for (; i < end && (rc = trace_next(self->r, &r)) == 1; i++) {
        kind[i] = r.kind;
        cpu[i] = r.cpu;
        acc[i] = r.acc;
        priv[i] = r.priv;
        size[i] = (uint16_t)r.size;   /* FORMAT.md: 1..65535, zero for other kinds */
        va[i] = r.va;
        if (r.kind == TR_ACCESS)
            continue;
        if (r.kind == TR_INSTR) {
            in_index[ni] = i;
            in_cpu[ni] = r.cpu;
            in_count[ni++] = r.count;
            continue;
        }
        ((int64_t *)eb[EV_INDEX])[ne] = i;
        ((uint8_t *)eb[EV_KIND])[ne] = r.kind;
        ((uint8_t *)eb[EV_CPU])[ne] = r.cpu;
        ((uint32_t *)eb[EV_PID])[ne] = r.pid;
        ((uint32_t *)eb[EV_CHILD])[ne] = r.child;
        ((uint64_t *)eb[EV_ADDR])[ne] = r.addr;
        ((uint64_t *)eb[EV_LEN])[ne] = r.len;
        ((uint32_t *)eb[EV_PROT])[ne] = r.prot;
        ((uint32_t *)eb[EV_FLAGS])[ne] = r.flags;
        ((uint32_t *)eb[EV_FILE_ID])[ne] = r.file_id;
        ((uint64_t *)eb[EV_OFFSET])[ne] = r.offset;
        ((uint64_t *)eb[EV_VALUE])[ne] = r.value;
        ((npy_bool *)eb[EV_NOFLUSH])[ne++] = r.noflush;
    }
    Py_END_ALLOW_THREADS
    self->busy = false;
    if (rc < 0)
        return lib_error(trace_reader_error(self->r), NULL);
    return Py_BuildValue("(nnn)", i - offset, ni, ne);
}

static const char *const acc_names[] = {"cpu", "acc", "priv", "size", "va"};
static const int acc_types[] = {NPY_UINT8, NPY_UINT8, NPY_UINT8, NPY_UINT16, NPY_UINT64};
enum { AC_CPU, AC_ACC, AC_PRIV, AC_SIZE, AC_VA, AC_NCOLS };

/* read_accesses((cpu, acc, priv, size, va), offset, max_records)
 *   -> (accesses written, records read)
 * Decodes up to max_records records and writes the accesses among them
 * into the arrays from position offset.  Fewer records than max_records
 * means the trace ended cleanly.  More accesses than the arrays hold is an
 * error: the rest is still read, so that a trace whose footer undercounts
 * its accesses gets the library's own message. */
static PyObject *Reader_read_accesses(Reader *self, PyObject *args)
{
    PyObject *cols;
    Py_ssize_t offset, max;
    if (!PyArg_ParseTuple(args, "O!nn", &PyTuple_Type, &cols, &offset, &max) || reader_ready(self))
        return NULL;
    char *base[AC_NCOLS];
    npy_intp len;
    if (get_columns(cols, "access", acc_names, acc_types, AC_NCOLS, base, &len))
        return NULL;
    if (offset < 0 || offset > len || max < 0) {
        PyErr_Format(PyExc_ValueError, "offset %zd is outside arrays of %zd", offset, (Py_ssize_t)len);
        return NULL;
    }
    uint8_t *cpu = (uint8_t *)base[AC_CPU], *acc = (uint8_t *)base[AC_ACC], *priv = (uint8_t *)base[AC_PRIV];
    uint16_t *size = (uint16_t *)base[AC_SIZE];
    uint64_t *va = (uint64_t *)base[AC_VA];
    Py_ssize_t i = 0, o = offset;
    int rc = 1;
    bool over = false;
    self->busy = true;
    Py_BEGIN_ALLOW_THREADS
    trace_rec r;
    for (; i < max && (rc = trace_next(self->r, &r)) == 1; i++) {
        if (r.kind != TR_ACCESS)
            continue;
        if (o == len) {
            over = true;
            continue;
        }
        cpu[o] = r.cpu;
        acc[o] = r.acc;
        priv[o] = r.priv;
        size[o] = (uint16_t)r.size;
        va[o++] = r.va;
    }
    if (over)   /* read on to the end: the library may know what is wrong */
        while (rc == 1)
            rc = trace_next(self->r, &r);
    Py_END_ALLOW_THREADS
    self->busy = false;
    if (rc < 0)
        return lib_error(trace_reader_error(self->r), NULL);
    if (over) {
        PyErr_Format(PyExc_ValueError, "%s: more accesses than the %zd the footer counts",
                     PyBytes_AS_STRING(self->path), (Py_ssize_t)len);
        return NULL;
    }
    return Py_BuildValue("(nn)", o - offset, i);
}

/* drain() -> the number of records left before the end of the trace; the
 * end's checks (the trailer, the footer's counts) raise as everywhere. */
static PyObject *Reader_drain(Reader *self, PyObject *unused)
{
    (void)unused;
    if (reader_ready(self))
        return NULL;
    unsigned long long n = 0;
    int rc;
    self->busy = true;
    Py_BEGIN_ALLOW_THREADS
    trace_rec r;
    while ((rc = trace_next(self->r, &r)) == 1)
        n++;
    Py_END_ALLOW_THREADS
    self->busy = false;
    if (rc < 0)
        return lib_error(trace_reader_error(self->r), NULL);
    return PyLong_FromUnsignedLongLong(n);
}

static PyMethodDef Reader_methods[] = {
    {"close", (PyCFunction)Reader_close, METH_NOARGS, "Close the file."},
    {"frame_firsts", (PyCFunction)Reader_frame_firsts, METH_NOARGS, "First record index of every frame."},
    {"seek", (PyCFunction)Reader_seek, METH_O, "Position on record INDEX."},
    {"read_records", (PyCFunction)Reader_read_records, METH_VARARGS,
     "read_records(records, instr, events, offset, max_records) -> (records, instr, events) read"},
    {"read_accesses", (PyCFunction)Reader_read_accesses, METH_VARARGS,
     "read_accesses((cpu, acc, priv, size, va), offset, max_records) -> (accesses, records)"},
    {"drain", (PyCFunction)Reader_drain, METH_NOARGS, "Read to the end; the number of records left."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Reader_getset[] = {
    {"meta", (getter)Reader_meta, NULL, "The trace's metadata (dict).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mmusim._core.Reader",
    .tp_doc = "Reader(path): a trace file's reader (trace_reader).",
    .tp_basicsize = sizeof(Reader),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Reader_init,
    .tp_dealloc = (destructor)Reader_dealloc,
    .tp_methods = Reader_methods,
    .tp_getset = Reader_getset,
};

/* ---- configurations --------------------------------------------------- */

/* Load `base` (a preset or a file; None = the default preset), apply the
 * "KEY=VALUE" strings of `sets` in order, validate.  0, or -1 with the
 * library's message raised. */
static int load_config(PyObject *base, PyObject *sets, mm_config *cfg)
{
    char err[ERR_LEN];
    PyObject *bytes = NULL;
    const char *arg = CFG_DEFAULT_PRESET;
    if (base != Py_None) {
        if (!PyUnicode_FSConverter(base, &bytes))
            return -1;
        arg = PyBytes_AS_STRING(bytes);
    }
    int rc = cfg_load(cfg, arg, err, sizeof err);
    if (rc)
        lib_error(err, cfg_preset_yaml(arg) ? NULL : arg);
    Py_XDECREF(bytes);
    if (rc)
        return -1;
    PyObject *seq = PySequence_Fast(sets, "sets: expected a sequence of 'KEY=VALUE' strings");
    if (!seq)
        return -1;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        const char *s = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq, i));
        if (!s || cfg_set(cfg, s, err, sizeof err)) {
            Py_DECREF(seq);
            if (s)
                lib_error(err, NULL);
            return -1;
        }
    }
    Py_DECREF(seq);
    if (cfg_validate(cfg, err, sizeof err)) {
        lib_error(err, NULL);
        return -1;
    }
    return 0;
}

static void add_pair(const char *key, const char *value, void *ctx)
{
    PyObject *list = ctx, *t;
    if (PyErr_Occurred() || !(t = Py_BuildValue("(ss)", key, value)))
        return;
    PyList_Append(list, t);
    Py_DECREF(t);
}

/* config(base, sets) -> [(key, value text)], every key in table order. */
static PyObject *core_config(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *base, *sets;
    if (!PyArg_ParseTuple(args, "OO", &base, &sets))
        return NULL;
    mm_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return PyErr_NoMemory();
    PyObject *list = NULL;
    if (load_config(base, sets, cfg) == 0 && (list = PyList_New(0))) {
        cfg_foreach(cfg, add_pair, list);
        if (PyErr_Occurred())
            Py_CLEAR(list);
    }
    free(cfg);
    return list;
}

static PyObject *core_presets(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyObject *list = PyList_New((Py_ssize_t)cfg_preset_count());
    for (size_t i = 0; list && i < cfg_preset_count(); i++) {
        PyObject *s = PyUnicode_FromString(cfg_preset_name(i));
        if (!s) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    return list;
}

static PyObject *core_version(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_FromString(mmusim_version());
}

/* ---- replay ----------------------------------------------------------- */

/* Ctrl-C during a replay in the main thread: the handler sets the flag
 * the replay checks every 64 Ki records (replay.h); the replay stops and
 * run() raises KeyboardInterrupt.  Python's own handler would only set a
 * flag that nothing checks until the replay returns. */
static volatile sig_atomic_t stop_flag;

static void on_sigint(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Take Ctrl-C over for a replay (called with the GIL released); the
 * replay's stop pointer: the flag, or NULL when Python keeps SIGINT. */
static volatile sig_atomic_t *sigint_begin(bool catch_sigint, struct sigaction *old)
{
    if (!catch_sigint)
        return NULL;
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    stop_flag = 0;
    sigaction(SIGINT, &sa, old);
    return &stop_flag;
}

static void sigint_end(bool catch_sigint, const struct sigaction *old)
{
    if (catch_sigint)
        sigaction(SIGINT, old, NULL);
}

/* A replay that did not finish as a Python exception, or 0. */
static int replay_failed(replay_status st, const char *err)
{
    if (st == REPLAY_ERROR) {
        lib_error(err, NULL);
        return -1;
    }
    if (st == REPLAY_STOPPED) {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        return -1;
    }
    return 0;
}

/* Counters as a list of (name, value) pairs, in the report's order. */
static PyObject *stats_list(const stats *s)
{
    size_t n = stats_count(s);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *t = Py_BuildValue("(sK)", stats_name(s, i), (unsigned long long)stats_value(s, i));
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

/* The trace paths as C strings in `bytes` (a list that owns them).  Each
 * is opened once first, so that a file that cannot be read is an OSError
 * naming it before any machine is built. */
static const char **trace_paths(PyObject *traces, PyObject **bytes, Py_ssize_t *n)
{
    PyObject *seq = PySequence_Fast(traces, "traces: expected a sequence of paths");
    if (!seq)
        return NULL;
    *n = PySequence_Fast_GET_SIZE(seq);
    const char **paths = *n ? calloc((size_t)*n, sizeof *paths) : NULL;
    *bytes = PyList_New(0);
    bool ok = *bytes && (*n == 0 || paths);
    if (!ok && *bytes)
        PyErr_NoMemory();
    for (Py_ssize_t i = 0; ok && i < *n; i++) {
        PyObject *b = NULL;
        ok = PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(seq, i), &b) && PyList_Append(*bytes, b) == 0;
        Py_XDECREF(b);
        if (!ok)
            break;
        paths[i] = PyBytes_AS_STRING(b);   /* kept alive by *bytes */
        if (!strcmp(paths[i], "-"))
            continue;
        char err[ERR_LEN];
        trace_reader *r;
        Py_BEGIN_ALLOW_THREADS
        r = trace_reader_open(paths[i], err, sizeof err);
        Py_END_ALLOW_THREADS
        if (!r) {
            lib_error(err, paths[i]);
            ok = false;
        }
        trace_reader_close(r);
    }
    Py_DECREF(seq);
    if (!ok) {
        free(paths);
        Py_CLEAR(*bytes);
        return NULL;
    }
    return paths;
}

/* progress=True: a one-line count on stderr, as `mmusim run` draws on a
 * terminal (replay_opts.progress; called without the GIL, every 64 Ki
 * records), erased at the end. */
static void draw_progress(const replay_progress *p, void *ctx)
{
    (void)ctx;
    if (p->end)
        fputs("\r\033[K", stderr);
    else if (p->total)
        fprintf(stderr, "\rmmusim: %" PRIu64 " of %" PRIu64 " accesses (%.0f%%)\033[K", p->accesses, p->total,
                100.0 * (double)p->accesses / (double)p->total);
    else
        fprintf(stderr, "\rmmusim: %" PRIu64 " accesses\033[K", p->accesses);
    fflush(stderr);
}

/* parse_count(text) -> int: a count as `mmusim run --skip` takes it
 * (replay_parse_count: digits, optional K, M or G). */
static PyObject *core_parse_count(PyObject *self, PyObject *arg)
{
    (void)self;
    const char *s = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    uint64_t v;
    if (!s || replay_parse_count(s, &v) != 0) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "%R: expected a count: " REPLAY_COUNT_SYNTAX, arg);
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(v);
}

/* The phases tuple (skip, warmup, max, roi) into o (replay.h, Phases). */
static int phases_opts(PyObject *t, replay_opts *o)
{
    unsigned long long skip, warmup, max;
    int roi;
    if (!PyArg_ParseTuple(t, "KKKp", &skip, &warmup, &max, &roi))
        return -1;
    o->skip = skip;
    o->warmup = warmup;
    o->max = max;
    o->roi = roi;
    return 0;
}

/* run(traces, configs, progress, catch_sigint, phases)
 *   -> [(status, config name, [(counter, value)])]
 * configs: a sequence of (base, sets) as load_config takes them.  One
 * decode pass of the workload for every configuration (replay_run_multi);
 * status is "done", or "oom" for a machine that ran out of physical memory
 * under os.exhaustion=stop (its counters are those up to that access). */
static PyObject *core_run(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *traces, *configs, *phases;
    int progress, catch_sigint;
    replay_opts o = {0};
    if (!PyArg_ParseTuple(args, "OOppO!", &traces, &configs, &progress, &catch_sigint, &PyTuple_Type, &phases) ||
        phases_opts(phases, &o))
        return NULL;
    PyObject *cseq = PySequence_Fast(configs, "configs: expected a sequence of (base, sets)");
    if (!cseq)
        return NULL;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(cseq);
    PyObject *result = NULL, *bytes = NULL;
    const char **paths = NULL;
    Py_ssize_t ntraces = 0;
    mm_config *cfgs = k ? calloc((size_t)k, sizeof *cfgs) : NULL;
    stats **out = k ? calloc((size_t)k, sizeof *out) : NULL;
    replay_status *status = k ? calloc((size_t)k, sizeof *status) : NULL;
    if (k == 0 || (size_t)k > UINT_MAX) {
        PyErr_SetString(PyExc_ValueError, "no configuration to run");
        goto done;
    }
    if (!cfgs || !out || !status) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *base, *sets;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(cseq, i), "OO", &base, &sets) ||
            load_config(base, sets, &cfgs[i]))
            goto done;
    }
    if (!(paths = trace_paths(traces, &bytes, &ntraces)))
        goto done;
    if (ntraces == 0 || (size_t)ntraces > UINT_MAX) {
        PyErr_SetString(PyExc_ValueError, "no trace to run");
        goto done;
    }
    char err[ERR_LEN];
    o.traces = paths;
    o.ntraces = (unsigned)ntraces;
    o.progress = progress ? draw_progress : NULL;
    struct sigaction old;
    replay_status st;
    Py_BEGIN_ALLOW_THREADS
    o.stop = sigint_begin(catch_sigint, &old);
    st = replay_run_multi(cfgs, (unsigned)k, &o, out, status, err, sizeof err);
    sigint_end(catch_sigint, &old);
    Py_END_ALLOW_THREADS
    if (replay_failed(st, err) || !(result = PyList_New(k)))
        goto done;
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *t = Py_BuildValue("(ssN)", status[i] == REPLAY_OOM ? "oom" : "done", cfgs[i].name,
                                    stats_list(out[i]));
        if (!t) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, i, t);
    }
done:
    for (Py_ssize_t i = 0; out && i < k; i++)
        stats_free(out[i]);
    free(out);
    free(status);
    free(cfgs);
    free(paths);
    Py_XDECREF(bytes);
    Py_DECREF(cseq);
    return result;
}

/* intervals(traces, base, sets, interval, progress, catch_sigint, phases)
 *   -> (status, CSV text)
 * `mmusim run -I interval`: replay_run's interval rows (replay.h), one
 * every `interval` accesses with the counters of that interval, as the
 * program prints them. */
static PyObject *core_intervals(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *traces, *base, *sets, *phases;
    unsigned long long interval;
    int progress, catch_sigint;
    replay_opts o = {0};
    if (!PyArg_ParseTuple(args, "OOOKppO!", &traces, &base, &sets, &interval, &progress, &catch_sigint,
                          &PyTuple_Type, &phases) ||
        phases_opts(phases, &o))
        return NULL;
    if (interval == 0) {
        PyErr_SetString(PyExc_ValueError, "interval: expected a number of accesses, at least 1");
        return NULL;
    }
    PyObject *result = NULL, *bytes = NULL;
    Py_ssize_t ntraces = 0;
    const char **paths = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = NULL;
    mm_config *cfg = malloc(sizeof *cfg);
    if (!cfg) {
        PyErr_NoMemory();
        goto done;
    }
    if (load_config(base, sets, cfg) || !(paths = trace_paths(traces, &bytes, &ntraces)))
        goto done;
    if (ntraces == 0 || (size_t)ntraces > UINT_MAX) {
        PyErr_SetString(PyExc_ValueError, "no trace to run");
        goto done;
    }
    if (!(f = open_memstream(&text, &len))) {
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }
    char err[ERR_LEN];
    o.traces = paths;
    o.ntraces = (unsigned)ntraces;
    o.format = REPORT_CSV;
    o.interval = interval;
    o.progress = progress ? draw_progress : NULL;
    o.out = f;
    struct sigaction old;
    replay_status st;
    Py_BEGIN_ALLOW_THREADS
    o.stop = sigint_begin(catch_sigint, &old);
    st = replay_run(cfg, &o, err, sizeof err);
    sigint_end(catch_sigint, &old);
    Py_END_ALLOW_THREADS
    bool wrote = fclose(f) == 0;
    f = NULL;
    if (replay_failed(st, err))
        goto done;
    if (!wrote) {
        PyErr_NoMemory();   /* a memory stream fails only for want of memory */
        goto done;
    }
    result = Py_BuildValue("(ss#)", st == REPLAY_OOM ? "oom" : "done", text, (Py_ssize_t)len);
done:
    if (f)
        fclose(f);
    free(text);
    free(cfg);
    free(paths);
    Py_XDECREF(bytes);
    return result;
}

/* ---- the module ------------------------------------------------------- */

static PyMethodDef core_methods[] = {
    {"version", core_version, METH_NOARGS, "The library's version (mmusim_version)."},
    {"presets", core_presets, METH_NOARGS, "The names of the presets compiled into the library."},
    {"config", core_config, METH_VARARGS, "config(base, sets) -> [(key, value)]: a validated configuration."},
    {"run", core_run, METH_VARARGS,
     "run(traces, configs, progress, catch_sigint, (skip, warmup, max, roi)) -> [(status, name, [(counter, value)])] "
     "per configuration."},
    {"intervals", core_intervals, METH_VARARGS,
     "intervals(traces, base, sets, interval, progress, catch_sigint, (skip, warmup, max, roi)) -> (status, CSV "
     "rows of `mmusim run -I`)."},
    {"parse_count", core_parse_count, METH_O, "parse_count(text) -> int, as `mmusim run --skip` takes a count."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "mmusim._core", "The mmusim library's trace reader, configuration and replay.", -1,
    core_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void)
{
    import_array();
    if (PyType_Ready(&ReaderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&core_module);
    if (!m)
        return NULL;
    Py_INCREF(&ReaderType);
    if (PyModule_AddObject(m, "Reader", (PyObject *)&ReaderType) < 0) {
        Py_DECREF(&ReaderType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "FRAME_RECORDS", TRACE_FRAME_RECORDS);
    return m;
}
