"""The Qt-free engine: catalog, Messages API client, images and storage."""
