package eventhub

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
)

// localStore is the checkpoint store for checkpoint_store = local: checkpoints
// in the stanza's checkpoint files (atomic, versioned), ownership in memory,
// since one process owns every partition.
type localStore struct {
	files checkpoint.Store
	now   func() time.Time

	mu        sync.Mutex
	owners    map[string]azeventhubs.Ownership
	etagCount int64
}

var _ azeventhubs.CheckpointStore = (*localStore)(nil)

// savedCheckpoint is the record kept per partition.
type savedCheckpoint struct {
	Offset         *string   `json:"offset,omitempty"` // opaque, as the service gave it
	SequenceNumber *int64    `json:"sequence_number,omitempty"`
	Updated        time.Time `json:"updated"`
}

func newLocalStore(files checkpoint.Store, now func() time.Time) *localStore {
	return &localStore{files: files, now: now, owners: map[string]azeventhubs.Ownership{}}
}

func key(ns, hub, group, kind, partition string) string {
	return ns + "/" + hub + "/" + group + "/" + kind + "/" + partition
}

func (s *localStore) ClaimOwnership(_ context.Context, claims []azeventhubs.Ownership, _ *azeventhubs.ClaimOwnershipOptions) ([]azeventhubs.Ownership, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var won []azeventhubs.Ownership
	for _, o := range claims {
		k := key(o.FullyQualifiedNamespace, o.EventHubName, o.ConsumerGroup, "ownership", o.PartitionID)
		have, exists := s.owners[k]
		if exists && (o.ETag == nil || have.ETag == nil || *o.ETag != *have.ETag) {
			continue // someone else changed it since the claimer read it
		}
		if !exists && o.ETag != nil {
			continue
		}
		s.etagCount++
		etag := azcore.ETag(strconv.FormatInt(s.etagCount, 10))
		o.ETag = &etag
		o.LastModifiedTime = s.now()
		s.owners[k] = o
		won = append(won, o)
	}
	return won, nil
}

func (s *localStore) ListOwnership(_ context.Context, ns, hub, group string, _ *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []azeventhubs.Ownership
	for _, o := range s.owners {
		if o.FullyQualifiedNamespace == ns && o.EventHubName == hub && o.ConsumerGroup == group {
			out = append(out, o)
		}
	}
	return out, nil
}

func (s *localStore) ListCheckpoints(_ context.Context, ns, hub, group string, _ *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	keys, err := s.files.Keys()
	if err != nil {
		return nil, fmt.Errorf("eventhub: listing checkpoints: %w", err)
	}
	prefix := key(ns, hub, group, "checkpoint", "")
	var out []azeventhubs.Checkpoint
	for _, k := range keys {
		if len(k) <= len(prefix) || k[:len(prefix)] != prefix {
			continue
		}
		var rec savedCheckpoint
		found, err := s.files.Load(k, &rec)
		if err != nil {
			return nil, fmt.Errorf("eventhub: reading checkpoint %s: %w", k, err)
		}
		if !found {
			continue
		}
		out = append(out, azeventhubs.Checkpoint{
			FullyQualifiedNamespace: ns, EventHubName: hub, ConsumerGroup: group, PartitionID: k[len(prefix):],
			Offset: rec.Offset, SequenceNumber: rec.SequenceNumber,
		})
	}
	return out, nil
}

func (s *localStore) SetCheckpoint(_ context.Context, cp azeventhubs.Checkpoint, _ *azeventhubs.SetCheckpointOptions) error {
	k := key(cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup, "checkpoint", cp.PartitionID)
	if err := s.files.Save(k, savedCheckpoint{Offset: cp.Offset, SequenceNumber: cp.SequenceNumber, Updated: s.now()}); err != nil {
		return fmt.Errorf("eventhub: saving checkpoint of partition %s: %w", cp.PartitionID, err)
	}
	return nil
}
