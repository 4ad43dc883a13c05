/* SPDX-License-Identifier: MIT */
/*
 * Messages on ConOut. OVMF (and most PC firmware with console redirection) copies ConOut to the
 * serial port, so the same lines reach a serial log; every line starts with "keel.efi:" so logs
 * and tests can tell the loader's messages from the firmware's and the kernel's.
 */
#include "boot/efi/efiapp.h"

#define FATAL_WAIT_US (10ULL * 1000 * 1000)

void con_print_w(CHAR16 *s)
{
	if (ST && ST->ConOut)
		ST->ConOut->OutputString(ST->ConOut, s);
}

/* Converts ASCII to UCS-2 in chunks, turning "\n" into the "\r\n" a text console needs. */
static void con_write(const char *s)
{
	CHAR16 w[129];
	size_t n = 0;

	for (; *s; s++) {
		if (*s == '\n')
			w[n++] = L'\r';
		w[n++] = (CHAR16)(u8)*s;
		if (n >= ARRAY_SIZE(w) - 2) {
			w[n] = 0;
			con_print_w(w);
			n = 0;
		}
	}
	w[n] = 0;
	if (n)
		con_print_w(w);
}

static void vprint(const char *prefix, const char *fmt, va_list ap)
{
	char buf[512];

	con_write(prefix);
	efi_vsnprintf(buf, sizeof(buf), fmt, ap);
	con_write(buf);
	con_write("\n");
}

void con_printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	efi_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	con_write(buf);
}

void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("keel.efi: ", fmt, ap);
	va_end(ap);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("keel.efi: warning: ", fmt, ap);
	va_end(ap);
}

void error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("keel.efi: error: ", fmt, ap);
	va_end(ap);
}

static void diag_report(void *ctx, enum diag_level level, const char *msg)
{
	switch (level) {
	case DIAG_INFO:
		info("%s", msg);
		break;
	case DIAG_WARN:
		warn("%s", msg);
		break;
	case DIAG_ERROR:
		error("%s", msg);
		break;
	}
}

const struct diag con_diag = { diag_report, NULL };

const char *efi_status_str(EFI_STATUS status)
{
	static char other[32];

	switch (status) {
	case EFI_SUCCESS:
		return "success";
	case EFI_LOAD_ERROR:
		return "load error";
	case EFI_INVALID_PARAMETER:
		return "invalid parameter";
	case EFI_UNSUPPORTED:
		return "unsupported";
	case EFI_BUFFER_TOO_SMALL:
		return "buffer too small";
	case EFI_DEVICE_ERROR:
		return "device error";
	case EFI_WRITE_PROTECTED:
		return "write protected";
	case EFI_OUT_OF_RESOURCES:
		return "out of resources";
	case EFI_VOLUME_CORRUPTED:
		return "volume corrupted";
	case EFI_NO_MEDIA:
		return "no media";
	case EFI_NOT_FOUND:
		return "not found";
	case EFI_ACCESS_DENIED:
		return "access denied";
	case EFI_ABORTED:
		return "aborted";
	case EFI_BAD_BUFFER_SIZE:
		return "bad buffer size";
	case EFI_END_OF_FILE:
		return "end of file";
	default:
		efi_snprintf(other, sizeof(other), "EFI status %#llx", (unsigned long long)status);
		return other;
	}
}

EFI_STATUS fatal(EFI_STATUS status)
{
	EFI_EVENT events[2];
	UINTN which;

	error("Keel was not started; back to the firmware in %llu s (or press a key)", FATAL_WAIT_US / 1000000);
	events[0] = ST->ConIn ? ST->ConIn->WaitForKey : NULL;
	if (!events[0] || BS->CreateEvent(EVT_TIMER, 0, NULL, NULL, &events[1]) != EFI_SUCCESS) {
		BS->Stall(FATAL_WAIT_US);
	} else {
		BS->SetTimer(events[1], TimerRelative, FATAL_WAIT_US * 10); /* in 100 ns units */
		BS->WaitForEvent(2, events, &which);
		BS->CloseEvent(events[1]);
	}
	pages_free_all();
	return EFI_ERROR(status) ? status : EFI_LOAD_ERROR;
}
