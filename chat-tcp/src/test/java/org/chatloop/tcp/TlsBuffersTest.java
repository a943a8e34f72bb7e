package org.chatloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TlsBuffersTest {
    private static final int SEAL = 8 * 16_709;

    @Test
    void shouldHoldInThreeSizesAndCountWhatIsHeld() {
        TlsBuffers buffers = new TlsBuffers();
        ByteBuffer small = buffers.allocateHeld(100, SEAL);
        ByteBuffer record = buffers.allocateHeld(10_000, SEAL);
        ByteBuffer large = buffers.allocateHeld(40_000, SEAL);
        assertEquals(4096, small.capacity());
        assertEquals(TlsBuffers.ONE_RECORD, record.capacity());
        assertEquals(SEAL, large.capacity());
        assertEquals(4096 + TlsBuffers.ONE_RECORD + SEAL, buffers.heldBytes());
        buffers.freeHeld(small);
        buffers.freeHeld(record);
        buffers.freeHeld(large);
        assertEquals(0, buffers.heldBytes());
        assertSame(large, buffers.allocateHeld(SEAL, SEAL), "a freed held buffer is reused");
    }

    @Test
    void shouldSealOneRecordPerWriteWhileTheLoopHoldsItsBudget() {
        TlsBuffers buffers = new TlsBuffers();
        assertEquals(8, buffers.recordsPerWrite(8));
        List<ByteBuffer> held = new ArrayList<>();
        while (buffers.heldBytes() < TlsBuffers.HELD_BUDGET) {
            held.add(buffers.allocateHeld(SEAL, SEAL));
        }
        assertEquals(1, buffers.recordsPerWrite(8));
        buffers.freeHeld(held.remove(0));
        assertEquals(8, buffers.recordsPerWrite(8));
    }
}
