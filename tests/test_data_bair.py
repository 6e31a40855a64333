"""BAIR: TFRecords written by TensorFlow itself, in the exact schema of the download, read back by
vbench's TensorFlow-free reader into the prepared form and served as suite clips."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import REPO, write_suite
from vbench.data import bair, load_test_clips
from vbench.data.prepared import PreparedDataset
from vbench.errors import DatasetNotPrepared, VBenchError
from vbench.suite import load_suite

tf = pytest.importorskip("tensorflow")


def _example(video: np.ndarray, rng: np.random.Generator) -> bytes:
    """One trajectory as the BAIR download stores it: raw HWC bytes per frame, two cameras, floats."""
    feature = {}
    for t, frame in enumerate(video):                                      # frame [64, 64, 3]
        other = rng.integers(0, 256, frame.shape, dtype=np.uint8)
        feature[f"{t}/image_aux1/encoded"] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[frame.tobytes()]))
        feature[f"{t}/image_main/encoded"] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[other.tobytes()]))
        feature[f"{t}/action"] = tf.train.Feature(float_list=tf.train.FloatList(value=rng.normal(size=4)))
        feature[f"{t}/endeffector_pos"] = tf.train.Feature(float_list=tf.train.FloatList(value=rng.normal(size=3)))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_tfrecord(path: Path, videos: np.ndarray, seed: int = 0) -> None:
    """videos: uint8 [N, 30, 64, 64, 3]."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for video in videos:
            writer.write(_example(video, rng))


def random_videos(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 30, 64, 64, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def download(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """softmotion30_44k with a 3-trajectory test file and two small train files."""
    top = tmp_path_factory.mktemp("bair") / "softmotion30_44k"
    videos = {"test/traj_0_to_255": random_videos(3, 1), "train/traj_256_to_511": random_videos(2, 2),
              "train/traj_512_to_767": random_videos(1, 3)}
    for stem, clip in videos.items():
        write_tfrecord(top / f"{stem}.tfrecords", clip)
    return top, videos


def test_crc32c_check_value():
    import google_crc32c
    assert google_crc32c.value(b"123456789") == 0xE3069283   # the CRC-32C check value (RFC 3720)


def test_reader_matches_tensorflow_reader(download):
    top, videos = download
    path = top / "test" / "traj_0_to_255.tfrecords"
    with open(path, "rb") as handle:
        ours = list(bair.read_records(handle, str(path)))
    theirs = [record.numpy() for record in tf.data.TFRecordDataset(str(path))]
    assert ours == theirs
    parsed = tf.io.parse_single_example(theirs[1], {"7/image_aux1/encoded": tf.io.FixedLenFeature([], tf.string)})
    assert bair.example_bytes_features(ours[1])["7/image_aux1/encoded"] == [parsed["7/image_aux1/encoded"].numpy()]


@pytest.mark.parametrize("as_tar", [False, True])
def test_prepare_round_trips_pixels(download, tmp_path, as_tar):
    top, videos = download
    source = top.parent
    if as_tar:
        source = tmp_path / "bair_robot_pushing_dataset_v0.tar"
        with tarfile.open(source, "w") as archive:
            archive.add(top, arcname="softmotion30_44k")
    message = bair.prepare(source, tmp_path / "root")
    assert "test: 3" in message and "train: 3" in message
    data = PreparedDataset(tmp_path / "root", "bair", "")
    assert data.video_ids("test") == ["traj_0_to_255/0", "traj_0_to_255/1", "traj_0_to_255/2"]
    assert data.video_ids("train") == ["traj_256_to_511/0", "traj_256_to_511/1", "traj_512_to_767/0"]
    for stem, clips in videos.items():
        split, name = stem.split("/")
        for index, video in enumerate(clips):
            np.testing.assert_array_equal(data.frames(split, f"{name}/{index}"), video.transpose(0, 3, 1, 2))
            assert data.verify(split, f"{name}/{index}")


def test_suite_clips_come_from_the_test_file_in_record_order(download, tmp_path):
    top, videos = download
    bair.prepare(top / "test", tmp_path / "root")                     # the split folder alone
    suite = load_suite(write_suite(tmp_path, dataset="bair", split="test", channels=3, context_frames=2,
                                   predicted_frames=8, num_videos=3, fvd_videos=3))
    clips = load_test_clips(suite, tmp_path / "root")                  # [3, 10, 3, 64, 64]
    np.testing.assert_array_equal(clips, videos["test/traj_0_to_255"][:, :10].transpose(0, 1, 4, 2, 3))


def test_generation_suite_reads_the_first_frames_of_the_same_test_clips(download, tmp_path):
    """bair-gen's real set: frames 0..T-1 of the test trajectories, as a suite with no context reads them."""
    top, videos = download
    bair.prepare(top / "test", tmp_path / "root")
    data = yaml.safe_load((REPO / "vbench" / "suites" / "bair-gen.yaml").read_text())
    data.update(name="tinygen", num_videos=3, fvd_videos=3, predicted_frames=10, train_predicted_frames=10)
    (tmp_path / "gen.yaml").write_text(yaml.safe_dump(data))
    clips = load_test_clips(load_suite(tmp_path / "gen.yaml"), tmp_path / "root")    # [3, 10, 3, 64, 64]
    np.testing.assert_array_equal(clips, videos["test/traj_0_to_255"][:, :10].transpose(0, 1, 4, 2, 3))


def test_builtin_suite_says_how_to_prepare(tmp_path):
    with pytest.raises(DatasetNotPrepared, match=r"vbench data prepare bair --source"):
        load_test_clips(load_suite("bair"), tmp_path / "empty-root")


def test_resolution_mismatch_names_the_prepare_command(download, tmp_path):
    top, _ = download
    bair.prepare(top / "test", tmp_path / "root", resolution=32)
    suite = load_suite(write_suite(tmp_path, dataset="bair", split="test", channels=3, num_videos=3, fvd_videos=3))
    with pytest.raises(DatasetNotPrepared, match=r"--resolution 64"):
        load_test_clips(suite, tmp_path / "root")


def _damaged_copy(download, tmp_path: Path, damage) -> Path:
    top, _ = download
    folder = tmp_path / "softmotion30_44k" / "test"
    folder.mkdir(parents=True)
    data = bytearray((top / "test" / "traj_0_to_255.tfrecords").read_bytes())
    (folder / "traj_0_to_255.tfrecords").write_bytes(damage(data))
    return tmp_path


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[: len(data) - 5000], r"traj_0_to_255\.tfrecords: record 2: truncated"),
    (lambda data: data[:-3], r"record 2: truncated"),
    (lambda data: data[:100] + bytes([data[100] ^ 1]) + data[101:], r"record 0: payload checksum mismatch"),
    (lambda data: bytes([data[0] ^ 4]) + data[1:], r"record 0: length checksum mismatch"),
])
def test_damaged_file_is_named_and_nothing_is_half_written(download, tmp_path, damage, message):
    top, videos = download
    root = tmp_path / "root"
    bair.prepare(top / "test", root)                                   # a good earlier preparation
    before = (root / "bair" / "manifest.json").read_bytes()
    source = _damaged_copy(download, tmp_path / "src", damage)
    with pytest.raises(bair.RecordError, match=message):
        bair.prepare(source, root)
    assert (root / "bair" / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in root.iterdir()) == ["bair"]          # no temporary folder left


def test_record_without_bair_keys_is_rejected(tmp_path):
    folder = tmp_path / "softmotion30_44k" / "test"
    folder.mkdir(parents=True)
    example = tf.train.Example(features=tf.train.Features(feature={
        "0/image_main/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"x"]))}))
    with tf.io.TFRecordWriter(str(folder / "traj_0_to_255.tfrecords")) as writer:
        writer.write(example.SerializeToString())
    with pytest.raises(bair.RecordError, match=r"record 0: no feature '0/image_aux1/encoded'"):
        bair.prepare(tmp_path, tmp_path / "root")
    assert not (tmp_path / "root" / "bair").exists()


def test_wrong_folder_says_what_was_expected(tmp_path):
    (tmp_path / "videos").mkdir()
    with pytest.raises(VBenchError, match=r"softmotion30_44k/\{train,test\}/traj_"):
        bair.prepare(tmp_path / "videos", tmp_path / "root")


def test_run_on_prepared_bair_reads_clips_lazily(download, tmp_path):
    """End to end: the runner on a prepared BAIR fixture, FVD included."""
    from vbench.runner import RunRequest, run
    from vbench.store import Store
    top, _ = download
    bair.prepare(top / "test", tmp_path / "root")
    suite = write_suite(tmp_path, dataset="bair", split="test", channels=3, context_frames=2, predicted_frames=8,
                        num_videos=3, num_samples=2, fvd_videos=3, metrics=["ssim", "psnr", "fvd"],
                        profiles={"ssim": "gaussian", "psnr": "frame", "fvd": "tf"})
    run_id = run(RunRequest(suite=str(suite), model="noisy_copy_last", store=tmp_path / "s.db",
                            data_root=str(tmp_path / "root"), progress=False))
    with Store(tmp_path / "s.db") as store:
        record = store.run(run_id)
    assert record.status == "finished" and record.summary.metrics["fvd"].videos == 3
    assert 0 < record.summary.metrics["ssim"].best.mean < 1
