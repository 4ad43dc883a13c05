# Boot tests in QEMU (pytest); filled in below.
