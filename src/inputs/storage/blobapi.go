package storage

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// blobItem is what the input needs to know about one blob.
type blobItem struct {
	Name string
	ETag string
	Size int64
	// Created is the blob's creation time from the listing (zero when the
	// service did not send it). Append blobs change ETag on every append, so
	// only this tells a blob deleted and created again from one that grew.
	Created time.Time
}

// blobService is the part of a storage account the input uses.
type blobService interface {
	// ListContainers returns the names of the containers starting with prefix.
	ListContainers(ctx context.Context, prefix string) ([]string, error)
	Container(name string) blobContainer
}

// blobContainer is the part of one container the input uses. Tests wrap it to
// change the container between a listing and a read.
type blobContainer interface {
	// ListPrefixes returns the virtual folders directly below prefix ('/' delimiter).
	ListPrefixes(ctx context.Context, prefix string) ([]string, error)
	// ListBlobs calls fn for every blob whose name starts with prefix.
	ListBlobs(ctx context.Context, prefix string, fn func(blobItem)) error
	// Download streams the blob from offset to its current end. The returned
	// item has the ETag and total size the download saw.
	Download(ctx context.Context, name string, offset int64) (io.ReadCloser, blobItem, error)
}

// azService adapts an azblob service client.
type azService struct{ c *service.Client }

var (
	_ blobService   = azService{}
	_ blobContainer = azContainer{}
)

func (s azService) ListContainers(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	p := s.c.NewListContainersPager(&service.ListContainersOptions{Prefix: &prefix})
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range page.ContainerItems {
			if c != nil && c.Name != nil {
				names = append(names, *c.Name)
			}
		}
	}
	return names, nil
}

func (s azService) Container(name string) blobContainer {
	return azContainer{c: s.c.NewContainerClient(name)}
}

type azContainer struct{ c *container.Client }

func (c azContainer) ListPrefixes(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	p := c.c.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{Prefix: &prefix})
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, bp := range page.Segment.BlobPrefixes {
			if bp != nil && bp.Name != nil {
				out = append(out, *bp.Name)
			}
		}
	}
	return out, nil
}

func (c azContainer) ListBlobs(ctx context.Context, prefix string, fn func(blobItem)) error {
	p := c.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, b := range page.Segment.BlobItems {
			if b == nil || b.Name == nil || b.Properties == nil {
				continue
			}
			it := blobItem{Name: *b.Name}
			if b.Properties.ETag != nil {
				it.ETag = string(*b.Properties.ETag)
			}
			if b.Properties.ContentLength != nil {
				it.Size = *b.Properties.ContentLength
			}
			if b.Properties.CreationTime != nil {
				it.Created = b.Properties.CreationTime.UTC()
			}
			fn(it)
		}
	}
	return nil
}

func (c azContainer) Download(ctx context.Context, name string, offset int64) (io.ReadCloser, blobItem, error) {
	resp, err := c.c.NewBlobClient(name).DownloadStream(ctx, &blob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: offset},
	})
	if err != nil {
		return nil, blobItem{}, err
	}
	it := blobItem{Name: name}
	if resp.ETag != nil {
		it.ETag = string(*resp.ETag)
	}
	if resp.ContentLength != nil {
		it.Size = offset + *resp.ContentLength
	}
	if resp.ContentRange != nil { // "bytes 10-99/100"
		if i := strings.LastIndexByte(*resp.ContentRange, '/'); i >= 0 {
			if n, err := strconv.ParseInt((*resp.ContentRange)[i+1:], 10, 64); err == nil {
				it.Size = n
			}
		}
	}
	return resp.Body, it, nil
}
