package org.chatloop.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** How a node numbers what it receives in one room: gaps, repeats, epochs, and arming. */
class RoomNumberingTest {
    private static RedisRoomBus.RoomIn armed() {
        RedisRoomBus.RoomIn in = new RedisRoomBus.RoomIn();
        in.armed = true;
        return in;
    }

    @Test
    void theFirstFrameFromAnOriginIsTheBaselineAndAGapIsCounted() {
        RedisRoomBus.RoomIn in = armed();
        assertEquals(0, in.track(256, 7, 40));
        assertEquals(0, in.track(256, 7, 41));
        assertEquals(3, in.track(256, 7, 45));
        assertEquals(0, in.track(512, 9, 1), "another origin has its own numbering");
    }

    @Test
    void aFrameSentAgainIsRecognised() {
        RedisRoomBus.RoomIn in = armed();
        in.track(256, 7, 1);
        in.track(256, 7, 2);
        assertEquals(-1, in.track(256, 7, 2));
        assertEquals(-1, in.track(256, 7, 1));
    }

    @Test
    void aNewEpochCountsWhatWasMissedOfItAndAnOldEpochIsARepeat() {
        RedisRoomBus.RoomIn in = armed();
        in.track(256, 7, 5);
        assertEquals(0, in.track(256, 8, 1), "the origin numbers the room again from 1");
        assertEquals(-1, in.track(256, 7, 6), "a frame of the old epoch, sent again");
        RedisRoomBus.RoomIn other = armed();
        other.track(256, 7, 5);
        assertEquals(2, other.track(256, 8, 3), "frames 1 and 2 of the new epoch did not arrive");
    }

    @Test
    void framesBeforeTheSubscriptionIsConfirmedAreNotCounted() {
        RedisRoomBus.RoomIn in = new RedisRoomBus.RoomIn();
        assertEquals(0, in.track(256, 7, 10));
        assertEquals(0, in.track(256, 7, 20));
        in.armed = true;
        assertEquals(0, in.track(256, 7, 30), "the first counted frame is the baseline");
        assertEquals(0, in.track(256, 7, 31));
    }

    @Test
    void missingFramesAreKeptPerLoopUntilTold() {
        RedisRoomBus.RoomIn in = armed();
        in.miss(1, 3);
        in.miss(1, 1);
        assertEquals(0, in.takeMissing(0));
        assertEquals(4, in.takeMissing(1));
        assertEquals(0, in.takeMissing(1));
    }
}
