// Change-feed schemas.
import { z } from '@hono/zod-openapi';

export const FeedQuery = z.object({
  since: z.coerce.number().int().min(0).openapi({ description: 'The last revision the caller has applied' }),
  chunk: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .openapi({ description: 'Chunks of revision `since` + 1 the caller already holds (a revision larger than 1 MiB spans several)' }),
  wait: z.coerce.number().min(0).max(60).optional().openapi({ description: 'Seconds to wait for a commit when there is nothing new' }),
});

const FeedEventSchema = z.record(z.string(), z.unknown()).openapi({ description: 'A FeedEvent (src/core/feed.ts), by `type`' });

export const FeedPageSchema = z
  .object({
    resync: z.boolean().openapi({ description: 'true: `since` is past the horizon; take a snapshot at `revision` and continue' }),
    revision: z.number().int(),
    batches: z
      .array(
        z.object({
          revision: z.number().int(),
          events: z.array(FeedEventSchema),
          'committed-at': z.number().int().optional(),
          chunk: z.number().int().optional().openapi({ description: 'Index of this chunk when the revision spans several' }),
          last: z.literal(false).optional().openapi({ description: 'false on all chunks but the revision\'s last: apply the revision once that arrived' }),
        }),
      )
      .optional(),
  })
  .openapi('FeedPage');
