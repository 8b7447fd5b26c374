/* The list scanner's fast path: count the labels of a block of "plain" list lines, or decline.
 *
 * Why C: a 10-million-line list must be counted in about the time it takes to read it, and a
 * Python loop manages a few million lines a second. This file holds no rule of its own that the
 * Python side does not also apply: it only says yes for lines that provably read the same under
 * PaddleClas's `line.strip().split(delimiter)` + `int()`, and declines anything else, so that
 * scanner.py re-reads the block with the exact per-line rule (the tests compare both paths with
 * Hypothesis). A line is plain when
 *   - its first character is neither one that strip() removes (ASCII space or control, Unicode
 *     whitespace) nor the delimiter (so the start stays, and the path is not empty);
 *   - the delimiter (one ASCII byte, not a digit or a line end) occurs in it exactly once;
 *   - after the delimiter come 1..18 ASCII digits (10**18 - 1 < 2**63: no int64 overflow), then
 *     '\n' or '\r\n' (strip() leaves the end alone); no other '\r' anywhere (a lone '\r' ends a
 *     line for PaddleClas's text-mode reading);
 * and the block is valid UTF-8 (ASCII bytes never occur inside a multi-byte character, so byte
 * positions of '\n', '\r' and the delimiter are character positions too).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DIGITS 18

enum { DECLINED = -1, LABEL_TOO_BIG = -2 };  /* tally_lines' status; 0: all lines done */

/* Python's strict UTF-8 decoder accepts exactly this: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
static int
valid_utf8(const unsigned char *s, const unsigned char *end)
{
    while (s < end) {
        unsigned char c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        if (c < 0xC2) {
            return 0; /* a lone continuation byte, or an overlong 2-byte form */
        }
        if (c < 0xE0) {
            if (end - s < 2 || (s[1] & 0xC0) != 0x80) {
                return 0;
            }
            s += 2;
            continue;
        }
        if (c < 0xF0) {
            if (end - s < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
                (c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F)) {
                return 0; /* truncated, overlong, or a surrogate */
            }
            s += 3;
            continue;
        }
        if (c < 0xF5) {
            if (end - s < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
                (s[3] & 0xC0) != 0x80 || (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F)) {
                return 0; /* truncated, overlong, or above U+10FFFF */
            }
            s += 4;
            continue;
        }
        return 0;
    }
    return 1;
}

/* Whether the (valid, complete) UTF-8 character at p is whitespace that str.strip() removes:
 * Python's whitespace above ASCII is U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029,
 * U+202F, U+205F and U+3000 (a test checks this list against str.isspace). */
static int
unicode_space(const unsigned char *p)
{
    switch (p[0]) {
    case 0xC2:
        return p[1] == 0x85 || p[1] == 0xA0;
    case 0xE1:
        return p[1] == 0x9A && p[2] == 0x80;
    case 0xE2:
        return (p[1] == 0x80 && (p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF)) ||
               (p[1] == 0x81 && p[2] == 0x9F);
    case 0xE3:
        return p[1] == 0x80 && p[2] == 0x80;
    default:
        return 0;
    }
}

/* Counts the block's '\n' and '\r' bytes and ORs all of them together, in one pass.
 * The byte-wide inner counters let the compiler vectorise the loop. */
static void
block_bytes(const unsigned char *s, size_t len, size_t *newlines, size_t *returns, unsigned char *all_bits)
{
    size_t nl = 0, cr = 0, i = 0;
    unsigned char bits = 0;
    while (i < len) {
        size_t stop = len - i > 255 ? i + 255 : len;
        unsigned char nl_run = 0, cr_run = 0;
        for (; i < stop; i++) {
            unsigned char c = s[i];
            nl_run = (unsigned char)(nl_run + (c == '\n'));
            cr_run = (unsigned char)(cr_run + (c == '\r'));
            bits |= c;
        }
        nl += nl_run;
        cr += cr_run;
    }
    *newlines = nl;
    *returns = cr;
    *all_bits = bits;
}

/* Adds `sign` to counts[label] for each line of [s, end) from the start, up to the first line
 * that is not plain. Returns the lines done; *stop is where they end, *status says why it
 * stopped (0: reached `end`). The caller has checked that end[-1] is '\n' and, if the block has
 * bytes above ASCII, that it is valid UTF-8 (so a character at p is whole). */
static Py_ssize_t
tally_lines(const unsigned char *s, const unsigned char *end, unsigned char delim, int64_t *counts,
            int64_t limit, int64_t sign, Py_ssize_t *crlf_lines, const unsigned char **stop,
            int *status, int64_t *big_label)
{
    const unsigned char *p = s;
    Py_ssize_t lines = 0, crlf = 0;
    *status = 0;
    while (p < end) {
        unsigned char first = *p;
        const unsigned char *at, *digit;
        int64_t label = 0;
        int digits = 0;
        if (first <= 32 || first == delim || (first >= 128 && unicode_space(p))) {
            *status = DECLINED;
            break;
        }
        /* The first delimiter; an earlier '\n' (a line without one) makes the line count come out
         * short of the block's '\n' count, which the caller checks. */
        at = memchr(p, delim, (size_t)(end - p));
        if (at == NULL) {
            *status = DECLINED;
            break;
        }
        digit = at + 1; /* < end: end[-1] is '\n', not the delimiter */
        while ((unsigned)(*digit - '0') < 10) {
            if (++digits > MAX_DIGITS) {
                break;
            }
            label = label * 10 + (*digit - '0');
            digit++;
        }
        if (digits == 0 || digits > MAX_DIGITS) {
            *status = DECLINED;
            break;
        }
        if (*digit == '\r') {
            digit++; /* still < end: '\r' is not end[-1] */
            crlf++;
        }
        if (*digit != '\n') {
            *status = DECLINED;
            break;
        }
        if (label >= limit) {
            *status = LABEL_TOO_BIG;
            *big_label = label;
            break;
        }
        counts[label] += sign;
        lines++;
        p = digit + 1;
    }
    *stop = p;
    *crlf_lines = crlf;
    return lines;
}

/* Returns the lines counted, or DECLINED with counts as they were; *big_label is set when the
 * first line that stopped the walk is plain but for a label past the tally. */
static Py_ssize_t
count_block(const unsigned char *s, const unsigned char *end, unsigned char delim, int64_t *counts,
            int64_t limit, int64_t *big_label)
{
    size_t newlines, returns;
    unsigned char all_bits;
    Py_ssize_t lines, crlf, undo_crlf;
    const unsigned char *stop, *undo_stop;
    int status, undo_status;

    if (end <= s || end[-1] != '\n' || delim == '\n' || delim == '\r' || (delim >= '0' && delim <= '9')) {
        return DECLINED;
    }
    block_bytes(s, (size_t)(end - s), &newlines, &returns, &all_bits);
    if ((all_bits & 0x80) && !valid_utf8(s, end)) {
        return DECLINED;
    }
    lines = tally_lines(s, end, delim, counts, limit, 1, &crlf, &stop, &status, big_label);
    if (status == 0 && (size_t)lines == newlines && (size_t)crlf == returns) {
        return lines;
    }
    /* Undo: the lines before `stop` were all plain, so the same walk takes each of them back. */
    tally_lines(s, stop, delim, counts, limit, -1, &undo_crlf, &undo_stop, &undo_status, big_label);
    return DECLINED;
}

static PyObject *
count_plain(PyObject *module, PyObject *args)
{
    Py_buffer data, counts;
    Py_ssize_t lo, hi, lines;
    int64_t big_label = -1;
    int delim;
    (void)module;

    if (!PyArg_ParseTuple(args, "y*nniw*:count_plain", &data, &lo, &hi, &delim, &counts)) {
        return NULL;
    }
    if (lo < 0 || hi < lo || hi > data.len || delim < 0 || delim > 127 || counts.itemsize != 8 ||
        counts.len % 8 != 0 || (counts.format != NULL && strcmp(counts.format, "q") != 0 &&
                                strcmp(counts.format, "l") != 0)) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&counts);
        PyErr_SetString(PyExc_ValueError,
                        "count_plain(data, lo, hi, delim, counts): 0 <= lo <= hi <= len(data), "
                        "delim an ASCII byte, counts an array('q')");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    lines = count_block((const unsigned char *)data.buf + lo, (const unsigned char *)data.buf + hi,
                        (unsigned char)delim, (int64_t *)counts.buf, counts.len / 8, &big_label);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    PyBuffer_Release(&counts);
    if (lines >= 0) {
        return Py_BuildValue("(nL)", lines, (long long)0);
    }
    return Py_BuildValue("(nL)", (Py_ssize_t)-1, (long long)(big_label >= 0 ? big_label + 1 : 0));
}

static PyMethodDef methods[] = {
    {"count_plain", count_plain, METH_VARARGS,
     "count_plain(data, lo, hi, delim, counts) -> (lines, needed)\n\n"
     "If every line of data[lo:hi] (whole lines) is plain, add their labels into counts (an\n"
     "array('q') indexed by label) and return (lines, 0). Else leave counts as they were and return\n"
     "(-1, needed): needed > 0 when the first line in the way is plain but for a label past the end\n"
     "of counts, and would fit in `needed` counts. Runs without the GIL."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_plainscan", "The list scanner's fast path for plain lines.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__plainscan(void)
{
    return PyModule_Create(&module_def);
}
