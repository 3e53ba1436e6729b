/* A small SHA-256 (FIPS 180-4) for the native workload: C's standard library has none. */
#ifndef POLYLAB_SHA256_H
#define POLYLAB_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

/* Hashes size bytes at data into digest. digest may overlap data: it is written only after the last read. */
void sha256(const uint8_t *data, size_t size, uint8_t digest[SHA256_BYTES]);

/* Known answers ("", "abc" and a two-block message); false, after a line on stderr, if any is wrong. */
bool sha256_self_test(void);

#endif
