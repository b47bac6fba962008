/** Types of ./openid-provider.mjs, the test OpenID Provider. */
export declare function startOpenIdProvider(): Promise<{ issuer: string; stop: () => Promise<void> }>;
export declare function provideOpenIdProvider(): Promise<void>;
