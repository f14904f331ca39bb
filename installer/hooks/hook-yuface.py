"""yuface: Raiten calls the library itself (libfacedetection.so / facedetection.dll) through
ctypes after checking its SHA-256, so that file must sit in the package folder under its own
name. PyInstaller's dependency scan only finds it under its soname (libfacedetection.so.v0.0.3).
"""

from PyInstaller.utils.hooks import collect_dynamic_libs

binaries = collect_dynamic_libs("yuface")
