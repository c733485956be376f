/**
 * Prompts that encode the workflow that never pays twice and never times out: create once, follow
 * (subscribe to the task resource, or get_task_status with wait_seconds), then download.
 */
import type { GetPromptResult, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Completer } from './completion.js';

const FOLLOW = [
  'It answers at once with a task_id. Do not call the create tool again for the same inputs while the task is pending or processing (identical inputs return the same task anyway; never pass force_recreate unless I ask).',
  'Follow it: subscribe to the resource lipsync://tasks/<task_id> if you can, otherwise call get_task_status with that task_id and wait_seconds: 50, again and again, until status is success or failed.',
  'On success call download_result with the task_id and tell me where the video was saved. On failure tell me the error message and its hint in plain words.',
].join('\n');

const line = (label: string, v: string | undefined) => (v ? `- ${label}: ${v}\n` : '');

const user = (text: string): GetPromptResult => ({
  messages: [{ role: 'user', content: { type: 'text', text } }],
});

export function registerPrompts(server: McpServer, completer: Completer): void {
  server.registerPrompt(
    'dub_video',
    {
      title: 'Dub a video',
      description:
        'Lip-sync a video to a new audio track: create the job once, follow it, download the result.',
      argsSchema: z.object({
        video: z.string().describe('The video: a file path in an allowed folder, or an http(s) URL.'),
        audio: z.string().describe('The new audio: a file path or an http(s) URL.'),
        provider: z
          .string()
          .optional()
          .describe('local, jogg, nemovideo or director (default: the configured one).'),
        playback_type: z.string().optional().describe('How the video fits a longer audio (Jogg and local).'),
      }),
    },
    (a) =>
      user(
        `Make a lip-synced version of a video with new audio.\n${line('video', a.video)}${line('audio', a.audio)}${line('provider', a.provider)}${line('playback_type', a.playback_type)}` +
          `Call create_lip_sync once with these inputs.\n${FOLLOW}`,
      ),
  );
  completer.prompt('dub_video', {
    args: { provider: 'provider', playback_type: 'playback_type' },
    kind: 'lip_sync',
  });

  server.registerPrompt(
    'animate_photo',
    {
      title: 'Animate a photo',
      description:
        'Make a talking video from a photo and an audio track (image lip sync): create once, follow, download.',
      argsSchema: z.object({
        image: z.string().describe('The photo: a file path or an http(s) URL.'),
        audio: z.string().describe('The speech: a file path or an http(s) URL.'),
        provider: z.string().optional().describe('A provider that animates images (e.g. director).'),
      }),
    },
    (a) =>
      user(
        `Make a talking video from a photo and an audio track.\n${line('image', a.image)}${line('audio', a.audio)}${line('provider', a.provider)}` +
          `Call create_lip_sync once with image and audio (no video).\n${FOLLOW}`,
      ),
  );
  completer.prompt('animate_photo', { args: { provider: 'provider' }, kind: 'lip_sync' });

  server.registerPrompt(
    'make_short',
    {
      title: 'Make a short video',
      description:
        'Generate a video from a text description for a platform (TikTok, Reels, Shorts, YouTube...): create once, follow, download.',
      argsSchema: z.object({
        prompt: z.string().describe('What the video shows and says.'),
        platform: z
          .string()
          .optional()
          .describe('tiktok, reels, shorts, youtube, instagram, twitter, product_demo, podcast.'),
        model: z
          .string()
          .optional()
          .describe('Leave empty for the auto model; veo3, sora2 or "sora2 pro" only when asked.'),
        template: z
          .string()
          .optional()
          .describe('A template (story, kids, podcast single, music video...), only when asked.'),
        provider: z.string().optional().describe('A provider that generates videos (director).'),
      }),
    },
    (a) =>
      user(
        `Generate a short video.\n${line('prompt', a.prompt)}${line('platform', a.platform)}${line('model', a.model)}${line('template', a.template)}${line('provider', a.provider)}` +
          `Call generate_video once with these values (leave out the ones not given).\n${FOLLOW}`,
      ),
  );
  completer.prompt('make_short', {
    args: { platform: 'platform', model: 'model', template: 'template', provider: 'provider' },
    kind: 'generate_video',
  });
}
