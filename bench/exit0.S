/* SPDX-License-Identifier: MIT */
/*
 * The cheapest program to exec, for bench/proc.sh's fastest exec storm: no
 * dynamic loader, no libc, one exit(0) system call. /bin/true costs an
 * ld.so run and libc's start-up, which caps a storm here near 3 000 execs/s;
 * this one lets the machine reach the rate the process probe must keep up
 * with. Built static, without the C library (Makefile).
 */
	.globl _start
	.text
_start:
	mov	$60, %eax	/* SYS_exit (x86-64) */
	xor	%edi, %edi
	syscall
	.section .note.GNU-stack, "", @progbits
