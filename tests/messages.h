// Every error message the suites expect from qdq, in one place.
//
// A. TensorFlow's exact wording (spec section 3; TF prints floats with StrCat, bools as 1/0).
//    The suites assert that Status::message() CONTAINS the text below.
//
//   forward (QuantizeAndDequantizeV4)
//     num_bits is out of range: {n} with signed_input_ {1|0}                       (3.1.1)
//     Shape must be at least rank {axis+1} but is rank {rank}                        (3.1.4; axis >= rank;
//         axis+1 is int32 in TF, so axis = INT32_MAX prints -2147483648)
//     Axis must be at least -1. Found {axis}                                         (3.1.3; asserted only for
//         rank-1 inputs, where -1 == -rank; see B for other ranks)
//     Invalid range: input_min {min} > input_max {max}                               (3.1.5; per-tensor, also NaN)
//     input_min_tensor has incorrect size, was {n} expected {depth} to match dim {axis} of the input {min shape}
//     input_max_tensor has incorrect size, was {n} expected {depth} to match dim {axis} of the input {max shape}
//         ({axis} is the non-negative axis, {min shape} like "[2]")
//   gradient (QuantizeAndDequantizeV4Grad)
//     Axis should be -1 or 0 or a positive value less than {rank}but given axis value was {axis}   (3.3.2, sic)
//     Axis must be at least -1. Found {axis}                                         (3.3.1; rank-1 inputs only)
//     gradient and input must be the same size                                       (3.3.3)
//     Input min tensor must have dimension 0 or 1. Received {rank}.                  (3.3.4)
//     Input max tensor must have dimension 0 or 1. Received {rank}.
//     min has incorrect size, expected {depth} was {n}                               (3.3.5)
//     max has incorrect size, expected {depth} was {n}
//     input_min must be a scalar if axis is unspecified                              (3.3.6)
//     input_max must be a scalar if axis is unspecified
//
// B. qdq's own checks (TF has no wording: it crashes, accepts, or the API differs). Only a robust,
//    case-insensitive substring is asserted; the suggested wording is in brackets.
//     axis < -rank, forward and gradient            "axis"        [Axis must be at least -{rank}. Found {axis}]
//     per-tensor given min/max with != 1 element    "input_min" / "input_max"
//     per-axis given min/max not rank 1             "input_min" / "input_max"
//     per-axis given min > max, or NaN              "range"       [Invalid range: input_min[{c}] {min} > ...]
//     gradient per-axis with a rank-0 min/max       "min" / "max"
//     round_mode not HALF_UP / HALF_TO_EVEN         "round"
//     output shape != input shape                   "output"
//     input_backprop shape != input shape           "input_backprop"
//     min/max backprop shape != input_min shape     "backprop"
//     SliceRanges view of the wrong size            (status code only)
//     null data with a non-empty shape              (status code only)
//     output partially overlapping an input         (status code only)
//     invalid Shape (negative dim, rank > 32, element count overflowing int64)   (status code only)
#pragma once

#include <cstdint>
#include <string>

namespace qdq_test::msg {

inline std::string num_bits_out_of_range(int num_bits, bool signed_input) {
    return "num_bits is out of range: " + std::to_string(num_bits) + " with signed_input_ " +
           (signed_input ? "1" : "0");
}

// TF computes axis+1 in int32; the wrap-around is reproduced (two's complement) for axis = INT32_MAX.
inline std::string shape_rank(int axis, int rank) {
    const auto plus_one = static_cast<int32_t>(static_cast<uint32_t>(axis) + 1u);
    return "Shape must be at least rank " + std::to_string(plus_one) + " but is rank " + std::to_string(rank);
}

inline std::string axis_at_least_minus_one(int axis) {
    return "Axis must be at least -1. Found " + std::to_string(axis);
}

inline std::string invalid_range(const std::string &min, const std::string &max) {
    return "Invalid range: input_min " + min + " > input_max " + max;
}

// which: "input_min" or "input_max".
inline std::string per_axis_size(const std::string &which, int64_t n, int64_t depth, int axis,
                                 const std::string &tensor_shape) {
    return which + "_tensor has incorrect size, was " + std::to_string(n) + " expected " + std::to_string(depth) +
           " to match dim " + std::to_string(axis) + " of the input " + tensor_shape;
}

inline std::string grad_axis_beyond_rank(int rank, int axis) {
    return "Axis should be -1 or 0 or a positive value less than " + std::to_string(rank) +
           "but given axis value was " + std::to_string(axis);
}

inline const char *grad_same_size() {
    return "gradient and input must be the same size";
}

// which: "min" or "max".
inline std::string grad_min_max_rank(const std::string &which, int rank) {
    return "Input " + which + " tensor must have dimension 0 or 1. Received " + std::to_string(rank) + ".";
}

inline std::string grad_per_axis_size(const std::string &which, int64_t depth, int64_t n) {
    return which + " has incorrect size, expected " + std::to_string(depth) + " was " + std::to_string(n);
}

// which: "input_min" or "input_max".
inline std::string grad_scalar(const std::string &which) {
    return which + " must be a scalar if axis is unspecified";
}

}  // namespace qdq_test::msg
