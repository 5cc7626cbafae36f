import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnv } from '../../src/config/env.js';
import { clusterSeeds } from '../../src/store/redis.js';

describe('REDIS_CLUSTER_NODES', () => {
  it('takes host:port seeds and redis:// or rediss:// URLs, with the credentials and TLS for every node', () => {
    expect(clusterSeeds(['10.0.0.1:7000', 'cache-2:7001'])).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'cache-2', port: 7001 },
      ],
      auth: {},
    });
    expect(clusterSeeds(['redis://:s%40cret@a:7000', 'redis://b:7001'])).toEqual({
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      auth: { password: 's@cret' },
    });
    expect(clusterSeeds(['rediss://app:pw@c.example:6380']).auth).toEqual({ username: 'app', password: 'pw', tls: {} });
    expect(clusterSeeds(['redis://d']).nodes).toEqual([{ host: 'd', port: 6379 }]);
  });

  it('is validated with the environment: a bad entry is named at start-up, an empty value means unset', () => {
    expect(loadEnv({ REDIS_CLUSTER_NODES: 'a:7000, redis://b:7001' }).redisClusterNodes).toEqual(['a:7000', 'redis://b:7001']);
    expect(loadEnv({ REDIS_CLUSTER_NODES: '' }).redisClusterNodes).toEqual([]);
    for (const bad of ['cache', 'http://a:7000', 'a:7000,,b:7001']) {
      expect(() => loadEnv({ REDIS_CLUSTER_NODES: bad })).toThrow(ConfigError);
      expect(() => loadEnv({ REDIS_CLUSTER_NODES: bad })).toThrow(/REDIS_CLUSTER_NODES: comma-separated host:port or redis:\/\/ URLs/);
    }
  });
});
