// Minimal .npy reader/writer for the qdq CLI: float32/float64, little-endian, C order, any rank.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace qdq_cli {

// Any failure of the CLI that is not a qdq::Status (bad flags, unreadable files, ...).
class CliError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class DType { kFloat32, kFloat64 };

const char *dtype_name(DType dtype);
size_t dtype_size(DType dtype);

// A dense row-major array. Exactly one of f32/f64 holds the data, chosen by `dtype`: typed storage keeps
// the buffers aligned and avoids type punning.
struct NpyArray {
    DType dtype = DType::kFloat32;
    std::vector<int64_t> shape;
    std::vector<float> f32;
    std::vector<double> f64;

    int64_t num_elements() const;
    template <typename T>
    std::vector<T> &data();
    template <typename T>
    const std::vector<T> &data() const;
};

template <>
inline std::vector<float> &NpyArray::data<float>() {
    return f32;
}
template <>
inline std::vector<double> &NpyArray::data<double>() {
    return f64;
}
template <>
inline const std::vector<float> &NpyArray::data<float>() const {
    return f32;
}
template <>
inline const std::vector<double> &NpyArray::data<double>() const {
    return f64;
}

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
    return DType::kFloat32;
}
template <>
constexpr DType dtype_of<double>() {
    return DType::kFloat64;
}

// Reads a .npy file (format 1.0, 2.0 or 3.0). Throws CliError with a message naming `path`.
NpyArray read_npy(const std::string &path);

// Parses an in-memory .npy image; `name` is used in messages.
NpyArray parse_npy(const std::string &bytes, const std::string &name);

// Serialises an array as a .npy image (format 1.0 when the header fits, else 2.0).
std::string serialize_npy(DType dtype, const std::vector<int64_t> &shape, const void *data, size_t num_elements);

// Writes several files so that either all of them appear or none does: each is written to a temporary
// file in the same directory, and only when all have been written are they renamed into place. The
// final paths are never created or truncated before that.
struct PendingFile {
    std::string path;
    std::string bytes;
};
void write_files_atomically(const std::vector<PendingFile> &files);

}  // namespace qdq_cli
