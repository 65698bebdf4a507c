#include "npy.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qdq_cli {

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the qdq CLI reads and writes little-endian .npy data with memcpy; it needs a little-endian host"
#endif

const char *dtype_name(DType dtype) {
    return dtype == DType::kFloat32 ? "float32" : "float64";
}
size_t dtype_size(DType dtype) {
    return dtype == DType::kFloat32 ? 4 : 8;
}

int64_t NpyArray::num_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

namespace {

const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

// A tiny parser for the Python dict literal numpy writes as the header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
public:
    HeaderParser(const std::string &text, const std::string &name) : s_(text), name_(name) {}

    void parse(std::string *descr, bool *fortran, std::vector<int64_t> *shape) {
        bool have_descr = false, have_fortran = false, have_shape = false;
        expect('{');
        for (;;) {
            skip_ws();
            if (peek() == '}') break;
            std::string key = parse_string();
            expect(':');
            skip_ws();
            if (key == "descr") {
                if (peek() != '\'' && peek() != '"')
                    fail("structured dtypes are not supported; qdq reads float32 or float64");
                *descr = parse_string();
                have_descr = true;
            } else if (key == "fortran_order") {
                *fortran = parse_bool();
                have_fortran = true;
            } else if (key == "shape") {
                *shape = parse_shape();
                have_shape = true;
            } else {
                fail("unexpected header key '" + key + "'");
            }
            skip_ws();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() != '}') fail("malformed header");
        }
        ++pos_;
        skip_ws();
        if (pos_ != s_.size()) fail("malformed header (text after the dict)");
        if (!have_descr || !have_fortran || !have_shape) fail("header lacks 'descr', 'fortran_order' or 'shape'");
    }

private:
    [[noreturn]] void fail(const std::string &what) const { throw CliError("'" + name_ + "': " + what); }
    char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
    void skip_ws() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }
    void expect(char c) {
        skip_ws();
        if (peek() != c) fail(std::string("malformed header (expected '") + c + "')");
        ++pos_;
    }
    std::string parse_string() {
        skip_ws();
        char q = peek();
        if (q != '\'' && q != '"') fail("malformed header (expected a string)");
        size_t end = s_.find(q, pos_ + 1);
        if (end == std::string::npos) fail("malformed header (unterminated string)");
        std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
        pos_ = end + 1;
        return out;
    }
    bool parse_bool() {
        if (s_.compare(pos_, 4, "True") == 0) {
            pos_ += 4;
            return true;
        }
        if (s_.compare(pos_, 5, "False") == 0) {
            pos_ += 5;
            return false;
        }
        fail("malformed header (fortran_order is not True or False)");
    }
    std::vector<int64_t> parse_shape() {
        std::vector<int64_t> dims;
        expect('(');
        for (;;) {
            skip_ws();
            if (peek() == ')') break;
            if (peek() < '0' || peek() > '9') fail("malformed header (bad shape)");
            int64_t v = 0;
            while (peek() >= '0' && peek() <= '9') {
                int digit = peek() - '0';
                if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("shape dimension too large");
                v = v * 10 + digit;
                ++pos_;
            }
            if (peek() == 'L') ++pos_;  // Python 2 long literal
            dims.push_back(v);
            skip_ws();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() != ')') fail("malformed header (bad shape)");
        }
        ++pos_;
        return dims;
    }

    const std::string &s_;
    const std::string &name_;
    size_t pos_ = 0;
};

uint32_t read_le(const std::string &b, size_t pos, int nbytes) {
    uint32_t v = 0;
    for (int i = nbytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[pos + static_cast<size_t>(i)]);
    return v;
}

std::string errno_text() {
    return std::strerror(errno);
}

}  // namespace

NpyArray parse_npy(const std::string &bytes, const std::string &name) {
    if (bytes.size() < kMagicLen + 2 || bytes.compare(0, kMagicLen, kMagic, kMagicLen) != 0)
        throw CliError("'" + name + "' is not a .npy file (bad magic)");
    int major = static_cast<unsigned char>(bytes[6]);
    int minor = static_cast<unsigned char>(bytes[7]);
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        throw CliError("'" + name + "': unsupported .npy format version " + std::to_string(major) + "." +
                       std::to_string(minor) + " (qdq reads 1.0, 2.0 and 3.0)");
    size_t len_bytes = major == 1 ? 2 : 4;
    if (bytes.size() < 8 + len_bytes) throw CliError("'" + name + "' is truncated (no header)");
    size_t header_len = read_le(bytes, 8, static_cast<int>(len_bytes));
    size_t data_start = 8 + len_bytes + header_len;
    if (bytes.size() < data_start) throw CliError("'" + name + "' is truncated (header)");

    std::string descr;
    bool fortran = false;
    NpyArray arr;
    HeaderParser(bytes.substr(8 + len_bytes, header_len), name).parse(&descr, &fortran, &arr.shape);

    if (descr == "<f4") {
        arr.dtype = DType::kFloat32;
    } else if (descr == "<f8") {
        arr.dtype = DType::kFloat64;
    } else if (descr == ">f4" || descr == ">f8") {
        throw CliError("'" + name + "': big-endian data ('" + descr +
                       "') is not supported; convert with arr.astype(arr.dtype.newbyteorder('<'))");
    } else {
        throw CliError("'" + name + "': unsupported dtype '" + descr +
                       "'; qdq reads float32 ('<f4') or float64 ('<f8')");
    }
    // A Fortran-ordered array with at most one dimension > 1 has the same layout as C order, but numpy
    // would still read it back transposed for rank >= 2; keep the rule simple and reject them all.
    if (fortran)
        throw CliError("'" + name + "': Fortran-ordered arrays are not supported; save with np.ascontiguousarray");

    size_t item = dtype_size(arr.dtype);
    uint64_t count = 1;
    for (int64_t d : arr.shape) {
        if (d != 0 && count > (std::numeric_limits<uint64_t>::max() / item) / static_cast<uint64_t>(d))
            throw CliError("'" + name + "': shape too large");
        count *= static_cast<uint64_t>(d);
    }
    uint64_t nbytes = count * item;
    uint64_t have = bytes.size() - data_start;
    if (have < nbytes)
        throw CliError("'" + name + "' is truncated: header says " + std::to_string(nbytes) + " data bytes, file has " +
                       std::to_string(have));
    if (have > nbytes)
        throw CliError("'" + name + "' has " + std::to_string(have - nbytes) +
                       " bytes after the data the header describes");

    if (arr.dtype == DType::kFloat32) {
        arr.f32.resize(count);
        if (count) std::memcpy(arr.f32.data(), bytes.data() + data_start, nbytes);
    } else {
        arr.f64.resize(count);
        if (count) std::memcpy(arr.f64.data(), bytes.data() + data_start, nbytes);
    }
    return arr;
}

NpyArray read_npy(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CliError("cannot open '" + path + "': " + errno_text());
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw CliError("cannot read '" + path + "': " + errno_text());
    return parse_npy(ss.str(), path);
}

std::string serialize_npy(DType dtype, const std::vector<int64_t> &shape, const void *data, size_t num_elements) {
    std::string dict = std::string("{'descr': '") + (dtype == DType::kFloat32 ? "<f4" : "<f8") +
                       "', 'fortran_order': False, 'shape': (";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) dict += ", ";
        dict += std::to_string(shape[i]);
    }
    if (shape.size() == 1) dict += ",";
    dict += "), }";

    // numpy pads the header with spaces and a newline so that the data starts 64-byte aligned.
    auto padded = [&](size_t preamble) {
        size_t total = preamble + dict.size() + 1;
        size_t pad = (64 - total % 64) % 64;
        return dict + std::string(pad, ' ') + "\n";
    };
    std::string out(kMagic, kMagicLen);
    std::string header = padded(10);
    if (header.size() <= 0xffff) {
        out += '\x01';
        out += '\x00';
        out += static_cast<char>(header.size() & 0xff);
        out += static_cast<char>((header.size() >> 8) & 0xff);
    } else {
        header = padded(12);
        out += '\x02';
        out += '\x00';
        for (int i = 0; i < 4; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
    }
    out += header;
    size_t nbytes = num_elements * dtype_size(dtype);
    if (nbytes) out.append(static_cast<const char *>(data), nbytes);
    return out;
}

void write_files_atomically(const std::vector<PendingFile> &files) {
    std::vector<std::string> temps;
    auto cleanup = [&]() {
        for (const std::string &t : temps) ::unlink(t.c_str());
    };
    mode_t mask = ::umask(0);
    ::umask(mask);
    for (const PendingFile &f : files) {
        std::string tmpl = f.path + ".tmp-XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        int fd = ::mkstemp(buf.data());
        if (fd < 0) {
            std::string err = errno_text();
            cleanup();
            throw CliError("cannot create '" + f.path + "': " + err);
        }
        temps.emplace_back(buf.data());
        const char *p = f.bytes.data();
        size_t left = f.bytes.size();
        bool ok = true;
        while (left > 0) {
            ssize_t n = ::write(fd, p, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                ok = false;
                break;
            }
            p += n;
            left -= static_cast<size_t>(n);
        }
        // mkstemp creates 0600; give the file the permissions an ordinary create would.
        if (ok && ::fchmod(fd, 0666 & ~mask) != 0) ok = false;
        std::string err = ok ? std::string() : errno_text();
        if (::close(fd) != 0 && ok) {
            ok = false;
            err = errno_text();
        }
        if (!ok) {
            cleanup();
            throw CliError("cannot write '" + f.path + "': " + err);
        }
    }
    for (size_t i = 0; i < files.size(); ++i) {
        if (::rename(temps[i].c_str(), files[i].path.c_str()) != 0) {
            std::string err = errno_text();
            // Take back the files already renamed so that none of the outputs is left behind.
            for (size_t j = 0; j < i; ++j) ::unlink(files[j].path.c_str());
            for (size_t j = i; j < temps.size(); ++j) ::unlink(temps[j].c_str());
            throw CliError("cannot write '" + files[i].path + "': " + err);
        }
    }
}

}  // namespace qdq_cli
