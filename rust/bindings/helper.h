/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C declarations damon_autotune's bindings are generated from.  The
 * allowlist in bindgen_parameters (next to this file) keeps only what the
 * module uses; everything else comes from the kernel crate's own bindings.
 */
#include <linux/damon.h>
#include <linux/ioport.h>
#include <linux/psi.h>
