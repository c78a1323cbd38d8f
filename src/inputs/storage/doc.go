// Package storage implements the m365_defender_storage modular input: it reads
// Microsoft Defender XDR Advanced Hunting events that the Streaming API
// exports to an Azure Storage account.
//
// The Streaming API writes one blob container per table,
// insights-logs-advancedhunting-<table> (lower case), and inside it one append
// blob per tenant and hour:
//
//	tenantId=<tenant guid>/y=2026/m=12/d=04/h=15/m=00/PT1H.json
//
// Each blob holds one JSON record per line, terminated by CRLF, and grows
// through its hour. Every complete line becomes one Splunk event with its
// bytes as stored; a trailing partial line waits for the next poll. A line
// longer than 8 MB is not held in memory: it is sent as one event in pieces
// (unbroken events that splunkd joins up to the one with <done/>), its rest
// read by a second ranged download.
//
// One launch is one poll (splunkd relaunches the input every interval):
//
//  1. list the containers whose names start with container_prefix;
//  2. per container, list the tenant folders and then the blobs of the months
//     still of interest, comparing each blob's ETag and size from the listing
//     with its checkpoint, so a poll where nothing changed makes list calls only;
//  3. read every blob that grew, oldest hour first, with a ranged download
//     from the checkpointed offset, streaming line by line;
//  4. flush the events and then save the checkpoint, after every few MB and at
//     the end of every blob, so a kill repeats at most one batch.
//
// The checkpoint holds, per container, one record per blob: the offset after
// the last complete line delivered, the blob's size and ETag when it was last
// read, its hour and its creation time (a blob deleted and created again is
// read from the start). Listing starts at the day of the container's horizon
// (start_date, later the container's last good poll minus 24 hours), or
// earlier for a blob not yet read to its end. Records of blobs read to the
// end are kept for every day listed, so an append to a listed blob is read
// however late it comes, and pruned once their day is no longer listed, so
// the checkpoint stays small over months; a blob appended to after that is
// no longer followed (a WARN names it if a listing still shows it). A blob
// without a record is read unless its hour is older than start_date or its
// records were pruned. A container that keeps failing holds back only its
// own horizon.
package storage
