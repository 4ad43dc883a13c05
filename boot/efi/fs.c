/* SPDX-License-Identifier: MIT */
/*
 * Files on the volume keel.efi came from: EFI_LOADED_IMAGE_PROTOCOL gives the device (whose
 * EFI_SIMPLE_FILE_SYSTEM_PROTOCOL opens the volume) and the file path (whose directory holds
 * keel.cfg). UEFI 2.9 sections 9.1 (loaded image), 10.3.5.3 (file path media device path),
 * 13.4-13.5 (file system and file protocols).
 */
#include "boot/efi/efiapp.h"

#define MAX_DP_NODES 64

/* Builds keel.efi's directory from the file-path nodes of its device path ("" if unknown). */
static void image_dir(const EFI_DEVICE_PATH *dp, char *out, size_t size)
{
	char raw[LOADER_PATH_MAX];
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; dp && i < MAX_DP_NODES && !IsDevicePathEnd(dp); i++) {
		size_t node_len = DevicePathNodeLength(dp);
		const u8 *name = (const u8 *)dp + 4;

		if (node_len < 4)
			return; /* malformed: keep "" and look in the root directory */
		if (DevicePathType(dp) == MEDIA_DEVICE_PATH && dp->SubType == MEDIA_FILEPATH_DP) {
			if (len + 1 >= sizeof(raw))
				return;
			raw[len++] = '\\'; /* nodes are concatenated as separate components */
			for (size_t j = 0; j + 1 < node_len - 4; j += 2) {
				u16 c;

				memcpy(&c, name + j, sizeof(c)); /* device path nodes are unaligned */
				if (!c)
					break;
				if (c > 0x7e || len + 1 >= sizeof(raw))
					return; /* a non-ASCII directory cannot be named in keel.cfg terms */
				raw[len++] = (char)c;
			}
		}
		dp = (const EFI_DEVICE_PATH *)((const u8 *)dp + node_len);
	}
	raw[len] = '\0';
	if (len && path_resolve(out, size, "", raw) == 0)
		path_dirname(out);
}

static EFI_STATUS to_ucs2(const char *path, CHAR16 *w, size_t n)
{
	size_t i;

	for (i = 0; path[i]; i++) {
		if (i + 1 >= n)
			return EFI_BAD_BUFFER_SIZE;
		w[i] = (CHAR16)(u8)path[i];
	}
	w[i] = 0;
	return EFI_SUCCESS;
}

static EFI_STATUS open_volume(EFI_HANDLE dev, EFI_FILE_HANDLE *root)
{
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *sfs;
	EFI_STATUS st;

	st = BS->HandleProtocol(dev, &FileSystemProtocol, (void **)&sfs);
	if (EFI_ERROR(st))
		return st;
	return sfs->OpenVolume(sfs, root);
}

static bool file_exists(EFI_FILE_HANDLE root, const char *path)
{
	CHAR16 w[LOADER_PATH_MAX];
	EFI_FILE_HANDLE f;

	if (EFI_ERROR(to_ucs2(path, w, ARRAY_SIZE(w))) || EFI_ERROR(root->Open(root, &f, w, EFI_FILE_MODE_READ, 0)))
		return false;
	f->Close(f);
	return true;
}

/*
 * GRUB's chainloader (and some boot managers) hand over a device without a file system, e.g.
 * the whole CD; the El Torito ESP image with keel.cfg is then a different handle.
 */
static EFI_STATUS scan_volumes(struct loader_fs *fs, const char *cfg_path)
{
	EFI_HANDLE *handles;
	UINTN n;
	EFI_STATUS st;

	st = BS->LocateHandleBuffer(ByProtocol, &FileSystemProtocol, NULL, &n, &handles);
	if (EFI_ERROR(st))
		return st;
	st = EFI_NOT_FOUND;
	for (UINTN i = 0; i < n; i++) {
		EFI_FILE_HANDLE root;
		EFI_DEVICE_PATH *dp;
		CHAR16 *s;

		if (EFI_ERROR(open_volume(handles[i], &root)))
			continue;
		if (!file_exists(root, cfg_path)) {
			root->Close(root);
			continue;
		}
		fs->root = root;
		info("using %s on volume:", cfg_path);
		dp = DevicePathFromHandle(handles[i]);
		s = dp ? DevicePathToStr(dp) : NULL;
		if (s) {
			con_printf("keel.efi:   ");
			con_print_w(s);
			con_printf("\n");
			FreePool(s);
		}
		st = EFI_SUCCESS;
		break;
	}
	FreePool(handles);
	return st;
}

EFI_STATUS fs_init(EFI_HANDLE image, struct loader_fs *fs)
{
	EFI_LOADED_IMAGE *li;
	char cfg_path[LOADER_PATH_MAX];
	EFI_STATUS st;

	fs->root = NULL;
	st = BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st)) {
		error("no loaded-image protocol on keel.efi's handle (%s)", efi_status_str(st));
		return st;
	}
	image_dir(li->FilePath, fs->dir, sizeof(fs->dir));
	if (!fs->dir[0] && !(li->FilePath && !IsDevicePathEnd(li->FilePath)))
		warn("firmware gave no file path for keel.efi; looking for keel.cfg in the root directory");
	if (path_resolve(cfg_path, sizeof(cfg_path), fs->dir, "keel.cfg"))
		return EFI_BAD_BUFFER_SIZE;

	st = open_volume(li->DeviceHandle, &fs->root);
	if (!EFI_ERROR(st))
		return EFI_SUCCESS;
	info("keel.efi's device has no file system (%s); searching the volumes for %s", efi_status_str(st), cfg_path);
	st = scan_volumes(fs, cfg_path);
	if (EFI_ERROR(st))
		error("no volume holds %s (%s)", cfg_path, efi_status_str(st));
	return st;
}

static EFI_STATUS file_size(EFI_FILE_HANDLE f, UINT64 *size, bool *is_dir)
{
	union {
		EFI_FILE_INFO fi;
		u8 bytes[offsetof(EFI_FILE_INFO, FileName) + 2 * LOADER_PATH_MAX];
	} buf;
	UINTN n = sizeof(buf);
	EFI_STATUS st;

	st = f->GetInfo(f, &GenericFileInfo, &n, &buf);
	if (EFI_ERROR(st))
		return st;
	*size = buf.fi.FileSize;
	*is_dir = buf.fi.Attribute & EFI_FILE_DIRECTORY;
	return EFI_SUCCESS;
}

static EFI_STATUS read_all(EFI_FILE_HANDLE f, u8 *buf, UINT64 size)
{
	while (size) {
		UINTN n = size;
		EFI_STATUS st = f->Read(f, &n, buf);

		if (EFI_ERROR(st))
			return st;
		if (!n)
			return EFI_END_OF_FILE; /* shorter than its directory entry said */
		buf += n;
		size -= n;
	}
	return EFI_SUCCESS;
}

EFI_STATUS fs_read(struct loader_fs *fs, const char *path, enum read_dest dest, UINT64 max_size, void **out,
		   UINT64 *out_size)
{
	CHAR16 w[LOADER_PATH_MAX];
	EFI_FILE_HANDLE f;
	EFI_PHYSICAL_ADDRESS pa = BELOW_4G;
	UINT64 size;
	bool is_dir;
	void *buf = NULL;
	EFI_STATUS st;

	st = to_ucs2(path, w, ARRAY_SIZE(w));
	if (!EFI_ERROR(st))
		st = fs->root->Open(fs->root, &f, w, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st)) {
		error("cannot open %s: %s", path, efi_status_str(st));
		return st;
	}
	st = file_size(f, &size, &is_dir);
	if (EFI_ERROR(st) || is_dir || size > max_size) {
		if (EFI_ERROR(st))
			error("cannot get the size of %s: %s", path, efi_status_str(st));
		else if (is_dir)
			error("%s is a directory, not a file", path);
		else
			error("%s is %llu bytes, more than the %llu allowed", path, (unsigned long long)size,
			      (unsigned long long)max_size);
		f->Close(f);
		return EFI_ERROR(st) ? st : EFI_BAD_BUFFER_SIZE;
	}

	if (dest == READ_POOL) {
		st = BS->AllocatePool(EfiLoaderData, size ? size : 1, &buf);
	} else {
		st = pages_alloc(AllocateMaxAddress, EfiLoaderData, size ? ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE : 1,
				 &pa);
		buf = (void *)(uintptr_t)pa;
	}
	if (EFI_ERROR(st)) {
		error("no memory for %s (%llu bytes%s): %s", path, (unsigned long long)size,
		      dest == READ_POOL ? "" : " below 4 GiB", efi_status_str(st));
		f->Close(f);
		return st;
	}
	st = read_all(f, buf, size);
	f->Close(f);
	if (EFI_ERROR(st)) {
		error("reading %s failed: %s", path, efi_status_str(st));
		if (dest == READ_POOL)
			BS->FreePool(buf);
		/* pages stay recorded and are freed with the rest if the boot fails */
		return st;
	}
	*out = buf;
	*out_size = size;
	return EFI_SUCCESS;
}
