#!/usr/bin/env bash
# Moves PostgreSQL dumps between the pod's scratch volume and the bucket prefix BACKUP_PREFIX
# (gs://BUCKET/backups/...), in the Cloud CLI image with the Workload Identity of the backup account.
#   storage.sh upload     DUMP_FILE -> BACKUP_PREFIX/<UTC timestamp>-<pod name>.dump (backup, step 2 of 2)
#                         With BACKUP_PLAN_FILE set (the migration's backup gate), only when that
#                         file exists; then the object's URL goes to BACKUP_RECORD_FILE, which the
#                         migration reads as the proof of its backup.
#   storage.sh download   BACKUP_OBJECT -> RESTORE_FILE (restore, step 1 of 2); BACKUP_OBJECT is an
#                         object URL, or "latest" for the newest dump under BACKUP_PREFIX
set -euo pipefail

# ---- The seam to Cloud Storage -------------------------------------------------------------------
# Every rendered manifest leaves LOCAL_BUCKET_DIR unset: gcloud copies and lists the objects. The
# live tests (__tests__/live) set it to a directory that stands in for BACKUP_PREFIX, so everything
# else in this file runs for real without a bucket.
if [ -z "${LOCAL_BUCKET_DIR:-}" ]; then
  bucket_put() { gcloud storage cp --no-clobber "$1" "$BACKUP_PREFIX/$2"; } # FILE NAME
  bucket_list() { gcloud storage ls "$BACKUP_PREFIX/*.dump"; }                # prints object URLs
  bucket_get() { gcloud storage cp "$1" "$2"; }                               # URL FILE
else
  # The object BACKUP_PREFIX/NAME is the file LOCAL_BUCKET_DIR/NAME: the URLs are the bucket's.
  bucket_put() { cp --no-clobber "$1" "$LOCAL_BUCKET_DIR/$2"; }
  bucket_list() { for f in "$LOCAL_BUCKET_DIR"/*.dump; do if [ -e "$f" ]; then echo "$BACKUP_PREFIX/${f##*/}"; fi; done; }
  bucket_get() { cp "$LOCAL_BUCKET_DIR/${1#"$BACKUP_PREFIX"/}" "$2"; }
fi
# ---------------------------------------------------------------------------------------------------

upload() {
  if [ -n "${BACKUP_PLAN_FILE:-}" ] && [ ! -e "$BACKUP_PLAN_FILE" ]; then
    echo "no schema change planned: nothing to upload"
    return 0
  fi
  # The UTC timestamp first, so that the sort order of the names is their age; the pod name (the
  # container's host name) keeps two backups of the same second apart, which --no-clobber would
  # otherwise skip while this step reported success.
  local name
  name="$(date -u +%Y%m%dT%H%M%SZ)-$HOSTNAME.dump"
  bucket_put "$DUMP_FILE" "$name"
  echo "uploaded $BACKUP_PREFIX/$name"
  if [ -n "${BACKUP_RECORD_FILE:-}" ]; then echo "$BACKUP_PREFIX/$name" >"$BACKUP_RECORD_FILE"; fi
}

download() {
  local object="$BACKUP_OBJECT"
  if [ "$object" = latest ]; then
    object="$(bucket_list | sort | tail -n 1)"
    if [ -z "$object" ]; then
      echo "no backup under $BACKUP_PREFIX/" >&2
      exit 1
    fi
  fi
  bucket_get "$object" "$RESTORE_FILE"
  # The restore container runs as another uid: make the file readable whatever mode the copy chose.
  chmod 0644 "$RESTORE_FILE"
  echo "downloaded $object"
}

case "${1:-}" in
  upload) upload ;;
  download) download ;;
  *)
    echo "usage: storage.sh upload|download" >&2
    exit 2
    ;;
esac
