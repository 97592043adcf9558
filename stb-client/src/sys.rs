//! The client's ioctls, its only `unsafe` code: the framebuffer's mode and panning, the
//! console's graphics mode, grabbing the remote's input device. Each call passes a
//! `repr(C)` mirror of the kernel structure or a plain integer.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use crate::display::fbdev::{Channel, Geometry};

const FBIOGET_VSCREENINFO: u32 = 0x4600;
const FBIOGET_FSCREENINFO: u32 = 0x4602;
const FBIOPAN_DISPLAY: u32 = 0x4606;
const KDSETMODE: u32 = 0x4B3A;
const KD_TEXT: libc::c_int = 0x00;
const KD_GRAPHICS: libc::c_int = 0x01;
/// `EVIOCGRAB`: `_IOW('E', 0x90, int)`.
const EVIOCGRAB: u32 = 0x4004_4590;
/// `FB_VMODE_YWRAP` and friends are not used; panning needs `ypanstep > 0`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct FbBitfield {
    offset: u32,
    length: u32,
    msb_right: u32,
}

/// `struct fb_var_screeninfo` of `linux/fb.h`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct FbVarScreeninfo {
    xres: u32,
    yres: u32,
    xres_virtual: u32,
    yres_virtual: u32,
    xoffset: u32,
    yoffset: u32,
    bits_per_pixel: u32,
    grayscale: u32,
    red: FbBitfield,
    green: FbBitfield,
    blue: FbBitfield,
    transp: FbBitfield,
    nonstd: u32,
    activate: u32,
    height: u32,
    width: u32,
    accel_flags: u32,
    pixclock: u32,
    left_margin: u32,
    right_margin: u32,
    upper_margin: u32,
    lower_margin: u32,
    hsync_len: u32,
    vsync_len: u32,
    sync: u32,
    vmode: u32,
    rotate: u32,
    colorspace: u32,
    reserved: [u32; 4],
}

/// `struct fb_fix_screeninfo` of `linux/fb.h`.
#[repr(C)]
#[derive(Clone, Copy)]
struct FbFixScreeninfo {
    id: [u8; 16],
    smem_start: libc::c_ulong,
    smem_len: u32,
    type_: u32,
    type_aux: u32,
    visual: u32,
    xpanstep: u16,
    ypanstep: u16,
    ywrapstep: u16,
    line_length: u32,
    mmio_start: libc::c_ulong,
    mmio_len: u32,
    accel: u32,
    capabilities: u16,
    reserved: [u16; 2],
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn var(file: &File) -> io::Result<FbVarScreeninfo> {
    let mut v = FbVarScreeninfo::default();
    // SAFETY: FBIOGET_VSCREENINFO writes one `struct fb_var_screeninfo`, which
    // `FbVarScreeninfo` mirrors field for field (repr(C)); `v` outlives the call and the
    // descriptor is open for the duration of the borrow.
    check(unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            FBIOGET_VSCREENINFO as _,
            &mut v as *mut FbVarScreeninfo,
        )
    })?;
    Ok(v)
}

/// The mode of a framebuffer device, and whether it can pan vertically.
pub fn mode(file: &File) -> io::Result<(Geometry, bool)> {
    let v = var(file)?;
    let mut f = FbFixScreeninfo {
        id: [0; 16],
        smem_start: 0,
        smem_len: 0,
        type_: 0,
        type_aux: 0,
        visual: 0,
        xpanstep: 0,
        ypanstep: 0,
        ywrapstep: 0,
        line_length: 0,
        mmio_start: 0,
        mmio_len: 0,
        accel: 0,
        capabilities: 0,
        reserved: [0; 2],
    };
    // SAFETY: FBIOGET_FSCREENINFO writes one `struct fb_fix_screeninfo`, mirrored by
    // `FbFixScreeninfo` (repr(C), same field types); `f` outlives the call.
    check(unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            FBIOGET_FSCREENINFO as _,
            &mut f as *mut FbFixScreeninfo,
        )
    })?;
    let ch = |b: FbBitfield| Channel {
        offset: b.offset,
        length: b.length,
    };
    Ok((
        Geometry {
            xres: v.xres,
            yres: v.yres,
            xres_virtual: v.xres_virtual,
            yres_virtual: v.yres_virtual,
            bits_per_pixel: v.bits_per_pixel,
            line_length: f.line_length,
            red: ch(v.red),
            green: ch(v.green),
            blue: ch(v.blue),
        },
        f.ypanstep > 0,
    ))
}

/// Shows the virtual screen starting at row `yoffset`.
pub fn pan(file: &File, yoffset: u32) -> io::Result<()> {
    let mut v = var(file)?;
    v.xoffset = 0;
    v.yoffset = yoffset;
    // SAFETY: FBIOPAN_DISPLAY reads one `struct fb_var_screeninfo` (only the offsets
    // matter), mirrored by `FbVarScreeninfo`; `v` outlives the call.
    check(unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            FBIOPAN_DISPLAY as _,
            &mut v as *mut FbVarScreeninfo,
        )
    })
}

/// Puts the console in graphics (`true`) or text mode.
pub fn console_mode(tty: &File, graphics: bool) -> io::Result<()> {
    let mode = if graphics { KD_GRAPHICS } else { KD_TEXT };
    // SAFETY: KDSETMODE takes its mode as an integer argument, not a pointer; the
    // descriptor is open for the duration of the borrow.
    check(unsafe { libc::ioctl(tty.as_raw_fd(), KDSETMODE as _, mode) })
}

/// Grabs an input device: its events come to this process only (not to the console).
pub fn grab(device: &File) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: EVIOCGRAB takes an integer argument (non-zero: grab), not a pointer; the
    // descriptor is open for the duration of the borrow.
    check(unsafe { libc::ioctl(device.as_raw_fd(), EVIOCGRAB as _, on) })
}
