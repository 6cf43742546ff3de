// mosquitto for the tests: the helper lives in sim/ (the fault campaign, sim/chaos, starts it too).
export * from '../../sim/mosquitto.js';
