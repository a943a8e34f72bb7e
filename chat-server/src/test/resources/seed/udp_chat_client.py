# The original tutorial's UDP chat client (../shared/seed/), as the seed has it: only the line
# breaks that the seed's text lost are restored, and the __main__ block takes the server's address
# from the command line instead of the tutorial's fixed LAN address (our tests never send traffic
# off loopback). It waits 5 s for its first heartbeat before it reads what the user types.
import socket
import threading
import time

class UdpChatClient:
 def __init__(self, ip, port):
  self.addr =(ip, port)
  self.sock = socket.socket(family=socket.AF_INET, type=socket.SOCK_DGRAM)
  self.event = threading.Event()

 def heartbeat(self):  #Heartbeat thread function: send a heartbeat every 5s
  while not self.event.wait(5):
   self.sock.sendto(b'#ping#', self.addr)

 def recv(self):  #Waiting to receive the data broadcast by the udp server
  while not self.event.is_set():
   data = self.sock.recv(1024)
   print(data.decode())

 def start(self):
  threading.Thread(target=self.heartbeat, name='heartbeat', daemon=True).start()
  threading.Thread(target=self.recv, name='recv', daemon=True).start()
  print('Please speak in 5s')
  time.sleep(5)  #Because the server must receive a heartbeat before saving the secondary client, it needs to wait for 5s
  print('Please start speaking')
  while not self.event.is_set():
   data =input('')
   data = data.strip()
   if data =='/quit':
    self.event.set()
    self.sock.close()
    return
   self.sock.sendto(data.encode(), self.addr)

if __name__ =='__main__':
 import sys
 udp_chat_client =UdpChatClient(sys.argv[1], int(sys.argv[2]))
 udp_chat_client.start()
