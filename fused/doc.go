// Package fused is the fast CPU implementation.
package fused
